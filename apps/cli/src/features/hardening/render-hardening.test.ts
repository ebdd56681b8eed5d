import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BatchDetail } from '../../batch-detail.js';
import { Output } from '../../output.js';
import { renderHardening } from './render-hardening.js';

function capture(format: 'table' | 'json' = 'table') {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return { output: new Output(format, stream), text: () => text };
}

const report = {
  profile: 'keycloak-host',
  checkedAt: '2026-12-01T10:00:00.000Z',
  score: 50,
  findings: [
    { rule: 'ssh.daemon', title: 'SSH', why: 'w', status: 'fail', current: 'passwordauthentication yes', wanted: 'passwordauthentication no', changes: [] },
    { rule: 'sysctl.ptrace', title: 'ptrace', why: 'w', status: 'disabled', current: '-', wanted: '-', reason: 'we debug here', changes: [] },
    { rule: 'sysctl.network', title: 'net', why: 'w', status: 'pass', current: 'rp_filter=1', wanted: 'rp_filter=1', changes: [] },
  ],
};
const batch = (output: unknown, summary = 'score 50') =>
  ({ batch: { id: 'b_1' }, tasks: [{ id: 't_1', hostId: 'h_1', state: 'succeeded', summary, output, error: null }] }) as unknown as BatchDetail;

describe('renderHardening', () => {
  it('shows each finding with the value seen and wanted, and the operator’s reason for a disabled rule', () => {
    const { output, text } = capture();
    renderHardening(output, 'hardening.audit', batch(report));
    expect(text()).toBe(
      [
        'host h_1: succeeded — score 50',
        'RULE            STATUS    CURRENT                     WANTED',
        'ssh.daemon      FAIL      passwordauthentication yes  passwordauthentication no',
        'sysctl.ptrace   disabled  -                           we debug here',
        'sysctl.network  pass      rp_filter=1                 rp_filter=1',
        '',
        '',
      ].join('\n'),
    );
  });

  it('shows a plan as a diff per change, refusals with their reason, and how to undo an apply', () => {
    const { output, text } = capture();
    const changes = [
      {
        rule: 'ssh.daemon',
        target: '/etc/ssh/sshd_config.d/01-keyfleet-hardening.conf',
        before: '(absent)',
        after: 'PermitRootLogin no\nPasswordAuthentication no\n',
      },
    ];
    renderHardening(
      output,
      'hardening.apply',
      batch({ dryRun: false, changes, refused: [{ rule: 'net.firewall', reason: 'reverted: no NATS' }], rollbackId: 'hr_000000001abcdef', report }),
    );
    expect(text()).toContain(
      [
        'changed:',
        '  ssh.daemon  /etc/ssh/sshd_config.d/01-keyfleet-hardening.conf',
        '    - (absent)',
        '    + PermitRootLogin no',
        '    + PasswordAuthentication no',
        '  net.firewall: reverted: no NATS',
        'undo with: keyfleet hardening rollback --target h_1 --id hr_000000001abcdef',
      ].join('\n'),
    );
  });

  it('prints the batch as it is for -o json', () => {
    const { output, text } = capture('json');
    renderHardening(output, 'hardening.audit', batch(report));
    expect(JSON.parse(text()).tasks[0].output).toEqual(report);
  });
});
