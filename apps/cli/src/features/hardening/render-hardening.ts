import { taskDefinitions } from '@keyfleet/proto/v1';
import type { z } from 'zod';
import type { BatchDetail } from '../../batch-detail.js';
import type { Output } from '../../output.js';

type Report = z.output<(typeof taskDefinitions)['hardening.audit']['output']>;
type HardeningTask = 'hardening.audit' | 'hardening.apply' | 'hardening.rollback';

/** A rule's status for people: failing ones stand out. */
const mark = (status: string) => (status === 'fail' || status === 'error' ? status.toUpperCase() : status);

/** Every finding of a report: rule, status, the value seen and wanted (or why it was skipped). */
export function printFindings(output: Output, report: Report): void {
  output.table(report, report.findings, [
    ['RULE', (f) => f.rule],
    ['STATUS', (f) => mark(f.status)],
    ['CURRENT', (f) => f.current],
    ['WANTED', (f) => (f.reason ? `${f.wanted === '-' ? '' : `${f.wanted}; `}${f.reason}` : f.wanted)],
  ]);
}

/** A change as a small diff: its target, then the lines before (-) and after (+). */
export function changeLines(c: { rule: string; target: string; before: string; after: string }): string[] {
  const side = (sign: string, text: string) =>
    text
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `    ${sign} ${l}`);
  return [`  ${c.rule}  ${c.target}`, ...side('-', c.before), ...side('+', c.after)];
}

/**
 * One block per host: its state and one-line summary, then the findings (audit), exactly what
 * changed or would change (apply) or what was put back (rollback). JSON mode prints the batch.
 */
export function renderHardening(output: Output, type: HardeningTask, batch: BatchDetail): void {
  if (output.format === 'json') {
    output.json(batch);
    return;
  }
  for (const t of batch.tasks) {
    output.line(`host ${t.hostId}: ${t.state}${t.summary ? ` — ${t.summary}` : ''}${t.error ? ` — ${t.error.code}: ${t.error.message}` : ''}`);
    if (t.state !== 'succeeded') continue;
    if (type === 'hardening.audit') {
      const report = taskDefinitions['hardening.audit'].output.safeParse(t.output);
      if (report.success) printFindings(output, report.data);
    } else if (type === 'hardening.apply') {
      const out = taskDefinitions['hardening.apply'].output.safeParse(t.output);
      if (!out.success) continue;
      const { dryRun, changes, refused, rollbackId } = out.data;
      output.line(changes.length ? (dryRun ? 'would change:' : 'changed:') : dryRun ? 'nothing to change' : 'nothing changed');
      for (const c of changes) for (const l of changeLines(c)) output.line(l);
      for (const r of refused) output.line(`  ${r.rule}: ${r.reason}`);
      if (rollbackId) output.line(`undo with: keyfleet hardening rollback --target ${t.hostId} --id ${rollbackId}`);
    } else {
      const out = taskDefinitions['hardening.rollback'].output.safeParse(t.output);
      if (out.success) printFindings(output, out.data.report);
    }
    output.line('');
  }
}
