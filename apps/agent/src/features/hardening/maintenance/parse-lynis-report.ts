import type { taskDefinitions } from '@keyfleet/proto/v1';
import type { z } from 'zod';

type ScanReport = z.output<(typeof taskDefinitions)['maintenance.scan']['output']>;
type Finding = ScanReport['findings'][number];

export interface LynisReport {
  version: string;
  hardeningIndex: number | undefined;
  executed: string[];
  /** Warnings and suggestions by test id, in the order Lynis wrote them. */
  warnings: Map<string, string[]>;
  suggestions: Map<string, string[]>;
}

/**
 * Lynis' report file (`--report-file`, by default /var/log/lynis-report.dat): `key=value` lines,
 * list entries as `key[]=value`, a warning or suggestion as `TEST-ID|text|details|solution|`.
 * Its machine-readable form is this file only (Lynis prints no JSON), so it is parsed here.
 */
export function parseLynisReport(text: string): LynisReport {
  const report: LynisReport = { version: '', hardeningIndex: undefined, executed: [], warnings: new Map(), suggestions: new Map() };
  const add = (map: Map<string, string[]>, value: string) => {
    const [id, message, details, solution] = value.split('|');
    if (!id) return;
    const extra = [details, solution].filter((s) => s && s !== '-' && s !== 'text:-').map((s) => s!.replace(/^text:/, ''));
    map.set(id, [...(map.get(id) ?? []), [message, ...extra].filter(Boolean).join(' — ')]);
  };
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0 || line.startsWith('#')) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'lynis_version') report.version = value;
    else if (key === 'hardening_index') report.hardeningIndex = Number(value);
    else if (key === 'tests_executed') report.executed = value.split('|').filter(Boolean);
    else if (key === 'warning[]') add(report.warnings, value);
    else if (key === 'suggestion[]') add(report.suggestions, value);
  }
  return report;
}

/**
 * Lynis' tests as hardening findings: a test with a warning fails, one with only suggestions fails
 * as advice, every other executed test passes; a test the operator skipped is `disabled` with
 * their reason. The score is the share of the counted tests that pass, as for hardening audits.
 */
export function lynisFindings(report: LynisReport, skip: Array<{ test: string; reason: string }>): Finding[] {
  const skipped = new Map(skip.map((s) => [s.test, s.reason]));
  const ids = [...new Set([...report.executed, ...report.warnings.keys(), ...report.suggestions.keys()])].filter((id) => /^[A-Z]+-\d+$/.test(id));
  return ids.map((id): Finding => {
    const rule = `lynis.${id.toLowerCase()}`;
    const warnings = report.warnings.get(id) ?? [];
    const suggestions = report.suggestions.get(id) ?? [];
    const said = [...warnings, ...suggestions];
    const base = { rule, title: said[0] ?? `Lynis test ${id}`, why: `Lynis test ${id}`, wanted: 'no warning or suggestion', changes: [] };
    if (skipped.has(id)) return { ...base, status: 'disabled', current: said.join('; ') || 'passed', reason: skipped.get(id) };
    if (warnings.length) return { ...base, status: 'fail', current: `warning: ${said.join('; ')}` };
    if (suggestions.length) return { ...base, status: 'fail', current: `suggestion: ${said.join('; ')}`, reason: 'advice (a Lynis suggestion, not a warning)' };
    return { ...base, status: 'pass', current: 'passed' };
  });
}
