import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { identityStore } from '../../../identity-store.js';
import { hubRefusal, hubRequest } from '../hub-request.js';
import { runningSupervisor } from './install-agent.js';
import { AGENT_USER, installPaths } from './install-paths.js';
import { runTool } from './run-tool.js';
import { removeSystemUser } from './system-user.js';

export interface UninstallOptions {
  root: string;
  /** Remove everything even when the hub cannot be told, or a Keycloak still lives in the state dir. */
  force: boolean;
  say: (line: string) => void;
}

/**
 * Undoes `installAgent`: tells the hub the host leaves (its NATS credential is revoked, the host
 * stays listed with its history), stops the agent and its supervisor, and removes the unit, the
 * artifact, the symlink, agent.env, the state dir and the system user. Directories it shares
 * with others (/etc/keyfleet, /opt/keyfleet) go only when empty.
 */
export async function uninstallAgent(o: UninstallOptions): Promise<void> {
  const paths = installPaths(o.root);
  if (process.getuid?.() !== 0 && o.root === '/') {
    throw new Error(
      'keyfleet-agent uninstall needs root: it stops keyfleet-agent.service and removes the keyfleet-agent user, /opt/keyfleet/agent, /var/lib/keyfleet-agent and /etc/keyfleet/agent.env',
    );
  }
  // Coupled to the keycloak feature by this one directory name: its Keycloak lives there.
  const keycloakDir = join(paths.stateDir, 'keycloak');
  if (existsSync(keycloakDir) && (await readdir(keycloakDir)).length > 0 && !o.force) {
    throw new Error(
      `this agent manages a Keycloak (${keycloakDir}), which uninstalling removes: stop it (\`keyfleet keycloak stop --target <host>\`), keep what you need (a backup), then pass --force`,
    );
  }

  if (await identityStore.exists(paths.stateDir)) {
    const { identity } = await identityStore.load(paths.stateDir);
    try {
      const res = await hubRequest(paths.stateDir, '/v1/agent/leave', { method: 'POST' });
      if (res.ok) {
        const body = (await res.json()) as { revocationEnforced: boolean };
        o.say(
          `- host ${identity.hostId} left the hub: its NATS credential is revoked${body.revocationEnforced ? ' and refused by NATS' : ' (NATS takes it shortly; the hub keeps pushing)'}`,
        );
      } else {
        const refusal = await hubRefusal(res);
        // Revoked before (an earlier uninstall that stopped half way, or an operator): nothing left to do there.
        if (res.status === 401 && /revoked/.test(refusal)) o.say(`= host ${identity.hostId}: its credential was already revoked`);
        else throw new Error(refusal);
      }
    } catch (err) {
      const what = `could not tell the hub (${identity.hubUrl}) that host ${identity.hostId} leaves: ${(err as Error).message}`;
      if (!o.force) throw new Error(`${what}; pass --force to uninstall anyway, then revoke it from the hub: keyfleet hosts revoke ${identity.hostId}`);
      o.say(`! ${what}; revoke it from the hub: keyfleet hosts revoke ${identity.hostId}`);
    }
  }

  if (existsSync(paths.unit)) {
    await runTool('systemctl', ['disable', '--now', '--quiet', 'keyfleet-agent.service'], { allowFailure: true });
    await rm(paths.unit, { force: true });
    await runTool('systemctl', ['daemon-reload'], { allowFailure: true });
    o.say(`- ${paths.unit} (stopped, disabled)`);
  }
  const supervisor = await runningSupervisor(paths.stateDir);
  if (supervisor) {
    process.kill(supervisor, 'SIGTERM');
    // The agent gets the unit's 60 s to finish its tasks; the supervisor exits after it.
    for (let i = 0; i < 700 && (await runningSupervisor(paths.stateDir)); i++) await sleep(100);
    if (await runningSupervisor(paths.stateDir)) throw new Error(`the agent supervisor (pid ${supervisor}) did not stop within 70 s`);
    o.say(`- agent supervisor (pid ${supervisor}) stopped`);
  }
  await stopLeftovers(paths.stateDir, o.say);

  for (const path of [paths.bin, paths.env, paths.libDir, paths.stateDir]) {
    if (!existsSync(path) && !(await isDanglingLink(path))) continue;
    await rm(path, { recursive: true, force: true });
    o.say(`- ${path}`);
  }
  for (const dir of [paths.etcDir, paths.optDir]) {
    if (existsSync(dir) && (await readdir(dir)).length === 0) {
      await rmdir(dir);
      o.say(`- ${dir} (empty)`);
    }
  }
  if (process.getuid?.() === 0 && (await removeSystemUser(o.root, AGENT_USER))) o.say(`- system user ${AGENT_USER}`);
  o.say('keyfleet-agent is uninstalled');
}

async function isDanglingLink(path: string): Promise<boolean> {
  return lstat(path).then(
    (s) => s.isSymbolicLink(),
    () => false,
  );
}

/**
 * Processes of the agent user that outlive the agent by design (an upgrade's watchdog, found
 * by the state dir on its command line) must not outlive its removal.
 */
async function stopLeftovers(stateDir: string, say: (line: string) => void): Promise<void> {
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!cmdline.includes('upgrade-watch') || !cmdline.includes(stateDir)) continue;
    try {
      process.kill(Number(entry), 'SIGTERM');
      say(`- upgrade watchdog (pid ${entry}) stopped`);
    } catch {
      // already gone
    }
  }
}
