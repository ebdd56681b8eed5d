import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot, ServiceProcess } from './service-process.js';

export interface AgentProcess {
  hostId: string;
  stateDir: string;
  proc: ServiceProcess;
  /** Start `keyfleet-agent run` (again); resolves once the hub welcomed it unless told not to wait. */
  start(opts?: { waitForWelcome?: boolean }): Promise<void>;
  /** SIGKILL simulates a crash; SIGTERM a clean stop. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the agent and removes its state dir. */
  remove(): Promise<void>;
}

/** Enrolls a real `keyfleet-agent` with a one-time token and returns a handle to run it. */
export async function enrollAgent(opts: {
  hubUrl: string;
  token: string;
  labels?: Record<string, string>;
  heartbeatIntervalMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Hands the agent its state dir as a path relative to its working directory (the repo root):
   * to `enroll` as --state-dir, to `run` as KEYFLEET_AGENT_STATE_DIR, the way the demo does.
   * `stateDir` stays absolute for the test.
   */
  relativeStateDir?: boolean;
}): Promise<AgentProcess> {
  const stateDir = await mkdtemp(join(tmpdir(), 'kf-agent-'));
  const given = opts.relativeStateDir ? relative(repoRoot, stateDir) : stateDir;
  const labelArgs = Object.entries(opts.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const enroll = new ServiceProcess(
    'agent-enroll',
    'apps/agent/src/main.ts',
    ['enroll', '--hub', opts.hubUrl, '--token', opts.token, '--state-dir', given, ...labelArgs],
    opts.env ?? {},
  ).start();
  const [, hostId] = await enroll.waitFor(/enrolled as (\S+);/, 30_000);
  const env = {
    KEYFLEET_HEARTBEAT_INTERVAL_MS: String(opts.heartbeatIntervalMs ?? 15_000),
    ...opts.env,
    ...(opts.relativeStateDir ? { KEYFLEET_AGENT_STATE_DIR: given } : {}),
  };
  const runArgs = opts.relativeStateDir ? ['run'] : ['run', '--state-dir', stateDir];
  const agent: AgentProcess = {
    hostId: hostId!,
    stateDir,
    proc: enroll,
    async start({ waitForWelcome = true } = {}) {
      agent.proc = new ServiceProcess(`agent ${hostId}`, 'apps/agent/src/main.ts', runArgs, env).start();
      if (waitForWelcome) await agent.proc.waitFor(/hub welcomed the agent/, 30_000);
    },
    async kill(signal = 'SIGKILL') {
      await agent.proc.kill(signal);
    },
    async remove() {
      await agent.proc.kill('SIGTERM');
      // A docker-runtime Keycloak's front is its own process and outlives the agent by design.
      if (existsSync(join(stateDir, 'keycloak-front.log'))) {
        await new ServiceProcess('agent-front-close', 'apps/agent/src/main.ts', ['front', '--close', '--state-dir', stateDir], {}).start().exited();
      }
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  return agent;
}
