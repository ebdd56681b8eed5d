import { describe, expect, it } from 'vitest';
import { lynisFindings, parseLynisReport } from './parse-lynis-report.js';

// Lines as Lynis 3.0.8 writes them to its report file (trimmed).
const REPORT = `# Lynis Report
report_version_major=1
lynis_version=3.0.8
hardening_index=56
tests_executed=SSH-7402|SSH-7408|AUTH-9262|KRNL-5820|
warning[]=SSH-7408|Root can directly login via SSH|PermitRootLogin=yes|-|
suggestion[]=SSH-7408|Consider hardening SSH configuration|AllowTcpForwarding (set YES to NO)|-|
suggestion[]=AUTH-9262|Install a PAM module for password strength testing like pam_cracklib or pam_passwdqc|-|-|
suggestion[]=LYNIS|This release is more than 4 months old.|-|-|
suggestion[]=KRNL-5820|If not required, consider explicit disabling of core dump in /etc/security/limits.conf file|-|-|
`;

describe('the Lynis report file as hardening findings', () => {
  it('reads version, index and tests; a warning fails, a suggestion fails as advice, the rest pass; skipped tests are disabled', () => {
    const report = parseLynisReport(REPORT);
    expect(report).toMatchObject({ version: '3.0.8', hardeningIndex: 56, executed: ['SSH-7402', 'SSH-7408', 'AUTH-9262', 'KRNL-5820'] });
    const findings = lynisFindings(report, [{ test: 'KRNL-5820', reason: 'core dumps are off in the kernel already' }]);
    expect(findings.map((f) => [f.rule, f.status])).toEqual([
      ['lynis.ssh-7402', 'pass'],
      ['lynis.ssh-7408', 'fail'],
      ['lynis.auth-9262', 'fail'],
      ['lynis.krnl-5820', 'disabled'],
    ]);
    expect(findings[1]).toMatchObject({
      title: 'Root can directly login via SSH — PermitRootLogin=yes',
      current: 'warning: Root can directly login via SSH — PermitRootLogin=yes; Consider hardening SSH configuration — AllowTcpForwarding (set YES to NO)',
    });
    expect(findings[2]).toMatchObject({ reason: 'advice (a Lynis suggestion, not a warning)' });
    expect(findings[3]).toMatchObject({ reason: 'core dumps are off in the kernel already' });
    // Lynis' note about its own age is not a test of the host.
    expect(findings.some((f) => f.rule === 'lynis.lynis')).toBe(false);
  });
});
