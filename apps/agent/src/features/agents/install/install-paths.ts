import { join } from 'node:path';

/** The system user the agent runs as (deploy/systemd/keyfleet.sysusers.conf names the same). */
export const AGENT_USER = 'keyfleet-agent';

/**
 * Where an installed agent lives, below `root`: `/` on a real host, a temporary directory in
 * tests (a live prefix on this machine: the unit, symlink and agent.env name the real paths).
 */
export function installPaths(root = '/') {
  const at = (path: string) => join(root, path);
  return {
    root,
    /** The artifact and its rollback copy; owned by the agent user, which upgrades itself. */
    libDir: at('opt/keyfleet/agent'),
    artifact: at('opt/keyfleet/agent/keyfleet-agent.mjs'),
    artifactSha256: at('opt/keyfleet/agent/keyfleet-agent.mjs.sha256'),
    /** /opt/keyfleet itself, removed on uninstall when nothing else (a Keycloak) lives there. */
    optDir: at('opt/keyfleet'),
    bin: at('usr/local/bin/keyfleet-agent'),
    etcDir: at('etc/keyfleet'),
    env: at('etc/keyfleet/agent.env'),
    unit: at('etc/systemd/system/keyfleet-agent.service'),
    stateDir: at('var/lib/keyfleet-agent'),
  };
}

export type InstallPaths = ReturnType<typeof installPaths>;
