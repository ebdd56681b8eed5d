import type { VerifyReport } from '../keycloak-types.js';

/** A failed verification as one line an operator can act on: every failed check with its reason. */
export function verifyFailure(report: VerifyReport, prefix = 'Keycloak verification failed'): string {
  const failed = report.checks.filter((c) => !c.ok);
  const passed = report.checks.filter((c) => c.ok).map((c) => c.name);
  return `${prefix} (${failed.length} of ${report.checks.length} checks): ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}${passed.length ? `. Passed: ${passed.join(', ')}` : ''}`;
}
