import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskHandler } from '../../../task-handler.js';
import { TaskFailure } from '../../../task-failure.js';
import type { HardeningHost } from '../hardening-host.js';
import { lynisFindings, parseLynisReport } from './parse-lynis-report.js';

/**
 * A Lynis scan (`lynis audit system`, read-only: it only reads the host and writes its report)
 * with the report in a temp dir rather than /var/log, parsed into hardening findings. `--quick`
 * skips its pauses; `--no-log` keeps its debug log (tens of MB) off the host.
 * Lynis scans the running system itself: the hardening root (a temp dir in tests) does not apply.
 */
export function maintenanceScan(host: Pick<HardeningHost, 'run'>, lynis = process.env.KEYFLEET_LYNIS || 'lynis'): TaskHandler<'maintenance.scan'> {
  return async (input, ctx) => {
    const dir = await mkdtemp(join(tmpdir(), 'kf-lynis-'));
    try {
      const reportFile = join(dir, 'lynis-report.dat');
      const started = Date.now();
      ctx.progress(5, 'lynis audit system');
      const r = await host.run(
        lynis,
        [
          'audit',
          'system',
          '--quick',
          '--no-colors',
          '--no-log',
          '--report-file',
          reportFile,
          ...(input.groups.length ? ['--tests-from-group', input.groups.join(' ')] : []),
        ],
        { signal: ctx.signal },
      );
      if (r.code === 127) throw new TaskFailure('handler_error', `${lynis} is not installed: apt-get install lynis`);
      const text = await readFile(reportFile, 'utf8').catch(() => '');
      if (!text) throw new TaskFailure('handler_error', `lynis exited ${r.code} without a report: ${(r.stderr || r.stdout).trim().slice(-500)}`);
      const report = parseLynisReport(text);
      const findings = lynisFindings(report, input.skip);
      const counted = findings.filter((f) => f.status !== 'disabled');
      return {
        profile: 'lynis',
        checkedAt: new Date().toISOString(),
        score: counted.length ? Math.round((100 * counted.filter((f) => f.status === 'pass').length) / counted.length) : 100,
        findings,
        lynisVersion: report.version,
        ...(report.hardeningIndex === undefined || Number.isNaN(report.hardeningIndex) ? {} : { hardeningIndex: report.hardeningIndex }),
        testsPerformed: report.executed.length,
        durationMs: Date.now() - started,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}
