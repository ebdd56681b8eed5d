import pkg from '../package.json' with { type: 'json' };

/** Stamped by the artifact build (scripts/build-agent-artifact.mjs); absent when running from source. */
declare const __KEYFLEET_AGENT_VERSION__: string | undefined;

/** Reported in enrollment and hello so the hub can tell agent builds apart (and upgrade them). */
export const AGENT_VERSION: string = typeof __KEYFLEET_AGENT_VERSION__ === 'string' ? __KEYFLEET_AGENT_VERSION__ : pkg.version;
