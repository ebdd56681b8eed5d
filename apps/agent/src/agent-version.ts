import pkg from '../package.json' with { type: 'json' };

/** Reported in enrollment and hello so the hub can tell agent builds apart. */
export const AGENT_VERSION: string = pkg.version;
