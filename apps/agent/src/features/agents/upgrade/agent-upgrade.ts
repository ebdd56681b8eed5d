import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { access, chmod, copyFile, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { TaskHandler } from '../../../task-handler.js';
import { downloadArtifact } from '../artifact-download.js';
import { artifactVersion } from '../install/install-agent.js';
import { SUPERVISOR_ENV } from '../install/supervise.js';
import { agentRuntime } from './upgrade-service.js';
import { upgradeRecord } from './upgrade-record.js';

/** The old agent, kept beside the current one: what a rollback puts back. */
export const PREVIOUS_NAME = 'keyfleet-agent.prev.mjs';
/** How long the upgrade lets other running tasks finish before it restarts the agent anyway. */
const DRAIN_MS = 5 * 60_000;

/**
 * `agent.upgrade`: downloads the artifact from the hub (signed as this host), checks size and
 * sha256, checks that it runs (`--version` says the expected version), lets running tasks
 * finish, keeps the running agent as keyfleet-agent.prev.mjs, renames the new one over the file
 * the supervisor runs (atomic), leaves a watchdog running from the old one and exits so the
 * supervisor starts the new one. Its result says `restarting`; the watchdog reports the outcome
 * (the new version said hello, or it was rolled back and why) to the hub.
 *
 * Tasks: those still running when the agent stops get its 10 s stop grace, then end
 * `interrupted` (failed, never run again); those accepted but not started stay in the journal
 * and run in the new agent; results not yet acknowledged are re-sent by it. None is lost or run
 * twice. This result itself is journaled before the agent stops and re-sent the same way.
 */
export const agentUpgrade: TaskHandler<'agent.upgrade'> = async (input, ctx) => {
  const from = ctx.agent.version;
  if (input.version === from) return { from, to: input.version, state: 'current' as const };

  const supervisor = process.env[SUPERVISOR_ENV];
  if (supervisor !== 'systemd' && supervisor !== 'process') {
    throw new Error(
      `no supervisor would start this agent again after it exits (${SUPERVISOR_ENV} is ${supervisor ? `"${supervisor}"` : 'unset'}); upgrade agents installed with \`keyfleet-agent install\` (systemd unit or its supervisor)`,
    );
  }
  const artifact = fileURLToPath(import.meta.url);
  if (!artifact.endsWith('.mjs')) throw new Error(`this agent runs from source (${artifact}), not from an installed artifact; it cannot swap itself`);
  const dir = dirname(artifact);
  await access(dir, constants.W_OK).catch((err: Error) => {
    throw new Error(`cannot write ${dir}, where the agent's artifact lives: ${err.message}`);
  });
  const pending = await upgradeRecord.read(ctx.stateDir).catch(() => undefined);
  if (pending?.state === 'restarting' && Date.parse(pending.deadlineAt) > Date.now()) {
    throw new Error(`an upgrade from ${pending.from} to ${pending.to} is still being watched until ${pending.deadlineAt}`);
  }

  ctx.progress(5, `downloading keyfleet-agent ${input.version}`);
  // .mjs: node loads it as the ES module it is, for the check that it runs.
  const staged = join(dir, `.keyfleet-agent-${input.version}.download.mjs`);
  await downloadArtifact(ctx.stateDir, input.version, staged, { expectedSha256: input.sha256, maxBytes: input.size, signal: ctx.signal });
  try {
    ctx.progress(40, 'checking that the new agent runs');
    await chmod(staged, 0o755);
    const reported = await artifactVersion(staged);
    if (reported !== input.version) throw new Error(`the artifact announced as ${input.version} says it is ${reported}`);

    // Running tasks finish first; the upgrade itself is one of them.
    const drainUntil = Date.now() + DRAIN_MS;
    while (agentRuntime.runningTasks() > 1 && Date.now() < drainUntil) {
      ctx.progress(50, `waiting for ${agentRuntime.runningTasks() - 1} running task(s) to finish`);
      await sleep(500, undefined, { signal: ctx.signal });
    }
    ctx.signal.throwIfAborted();

    ctx.progress(80, `swapping ${from} for ${input.version}`);
    const previous = join(dir, PREVIOUS_NAME);
    await copyFile(artifact, `${previous}.tmp`);
    await chmod(`${previous}.tmp`, 0o755);
    await rename(`${previous}.tmp`, previous);
    const swappedAt = new Date();
    const deadlineAt = new Date(swappedAt.getTime() + input.deadlineSec * 1000).toISOString();
    const attemptId = randomBytes(8).toString('hex');
    await upgradeRecord.write(ctx.stateDir, {
      attemptId,
      from,
      to: input.version,
      artifact,
      previous,
      supervisor,
      swappedAt: swappedAt.toISOString(),
      deadlineAt,
      state: 'restarting',
      reported: false,
    });
    await syncDir(dir);
    await rename(staged, artifact);
    await syncDir(dir);
    startWatchdog(previous, ctx.stateDir);
    ctx.log.info({ from, to: input.version, deadlineAt }, 'agent artifact swapped; restarting through the supervisor');
    // After this handler's result is journaled: stop waits for running tasks' results, so the
    // result is on disk before the process ends, and the new agent re-sends it if need be.
    setImmediate(() => process.kill(process.pid, 'SIGTERM'));
    return { from, to: input.version, state: 'restarting' as const, attemptId, supervisor, deadlineAt };
  } finally {
    await rm(staged, { force: true });
  }
};

/** The old agent watches the new one (`upgrade-watch`); detached, so it outlives this process. */
function startWatchdog(previous: string, stateDir: string): void {
  const log = openSync(join(stateDir, 'agent-upgrade.log'), 'a', 0o600);
  try {
    const child = spawn(process.execPath, [previous, 'upgrade-watch', '--state-dir', stateDir], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: stateDir,
      env: process.env,
    });
    child.unref();
  } finally {
    closeSync(log);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
