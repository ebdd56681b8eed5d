import { chmod, copyFile, readFile, rename } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntilReported } from '../host-self.js';
import { runningSupervisor } from '../install/install-agent.js';
import { runTool } from '../install/run-tool.js';
import { supervisorFiles } from '../install/supervise.js';
import { reportUpgrade } from './report-upgrade.js';
import { type UpgradeRecord, upgradeRecord } from './upgrade-record.js';

const UNIT = 'keyfleet-agent.service';

/**
 * `keyfleet-agent upgrade-watch`: started by `agent.upgrade` from the old agent's file, it waits
 * until the hub reports the host online with the new version (its hello). If that does not happen
 * by the record's deadline — the new agent crashes, hangs, cannot reach NATS — it renames the old
 * agent back over the artifact, has the supervisor restart it, waits for it to report, and tells
 * the hub the upgrade was rolled back and why. Either outcome is kept in the record and reported.
 */
export async function watchUpgrade(stateDir: string, log: (line: string) => void): Promise<UpgradeRecord> {
  const record = await upgradeRecord.read(stateDir);
  if (record?.state !== 'restarting') throw new Error(`no upgrade to watch in ${upgradeRecord.path(stateDir)}`);
  log(`watching the upgrade ${record.from} -> ${record.to} until ${record.deadlineAt}`);
  const reported = await waitUntilReported(stateDir, record.to, Math.max(0, Date.parse(record.deadlineAt) - Date.now()));
  let final: UpgradeRecord;
  if (reported.ok) {
    final = { ...record, state: 'upgraded', finishedAt: new Date().toISOString() };
    log(`${record.to} reported to the hub: upgraded`);
  } else {
    const seconds = Math.round((Date.parse(record.deadlineAt) - Date.parse(record.swappedAt)) / 1000);
    const why = `keyfleet-agent ${record.to} did not report to the hub within ${seconds} s (${reported.reason}); ${await whatHappened(record, stateDir)}`;
    log(`${why}; rolling back to ${record.from}`);
    await copyFile(record.previous, `${record.artifact}.rollback`);
    await chmod(`${record.artifact}.rollback`, 0o755);
    await rename(`${record.artifact}.rollback`, record.artifact);
    await restartAgent(record, stateDir, log);
    const back = await waitUntilReported(stateDir, record.from, Math.max(30_000, seconds * 1000));
    const after = back.ok ? `rolled back to ${record.from}` : `rolled back to ${record.from}, which has not reported either (${back.reason})`;
    final = { ...record, state: 'rolled_back', reason: `${why}; ${after}`.slice(0, 2000), finishedAt: new Date().toISOString() };
    log(after);
  }
  await upgradeRecord.write(stateDir, final);
  // The agent's own start reports it later if the hub does not take it now.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await reportUpgrade(stateDir, final);
      log('outcome reported to the hub');
      break;
    } catch (err) {
      log(`could not report the outcome: ${(err as Error).message}`);
      await sleep(2_000 * (attempt + 1));
    }
  }
  return final;
}

/** What the supervisor saw of the new agent since the swap, for the rollback's reason. */
async function whatHappened(record: UpgradeRecord, stateDir: string): Promise<string> {
  if (record.supervisor === 'systemd') {
    const { output } = await runTool('systemctl', ['show', UNIT, '--property', 'ActiveState,NRestarts,ExecMainStatus'], { allowFailure: true });
    return `systemd: ${output.replaceAll('\n', ', ') || 'no answer'}`;
  }
  const text = await readFile(supervisorFiles(stateDir).log, 'utf8').catch(() => '');
  const lines = text.trimEnd().split('\n').slice(-200);
  const since = Date.parse(record.swappedAt);
  const exits = lines.filter((l) => {
    const m = l.match(/^(\S+) supervisor: the agent exited \((.+?)\)/);
    return m && Date.parse(m[1]!) >= since;
  });
  const lastOutput = lines.filter((l) => !/^\S+ supervisor: /.test(l) && l.trim()).at(-1);
  const exited = exits.length === 0 ? 'it did not exit' : `it exited ${exits.length} time(s), last ${exits.at(-1)!.match(/\((.+?)\)/)![1]}`;
  return `${exited}${lastOutput ? `; its last output: ${lastOutput.slice(0, 300)}` : ''}`;
}

/** Stops whatever agent runs now, so the supervisor starts the restored file. */
async function restartAgent(record: UpgradeRecord, stateDir: string, log: (line: string) => void): Promise<void> {
  if (record.supervisor === 'process') {
    const supervisor = await runningSupervisor(stateDir);
    if (supervisor) process.kill(supervisor, 'SIGHUP');
    else log('no supervisor runs; the restored agent starts with the next one');
    return;
  }
  const { output } = await runTool('systemctl', ['show', UNIT, '--property', 'MainPID', '--value'], { allowFailure: true });
  const pid = Number(output.trim());
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch (err) {
      log(`could not stop the agent (pid ${pid}): ${(err as Error).message}`);
    }
  }
}
