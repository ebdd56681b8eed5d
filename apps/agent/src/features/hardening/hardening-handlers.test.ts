import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startNats, type NatsServer } from '@keyfleet/test-harness';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testTaskContext } from '../../testing/test-task-context.js';
import type { CommandRunner } from './command-runner.js';
import { hardeningHandlers } from './hardening-handlers.js';
import { AGENT_UID, debianRoot, STATE_DIR } from './testing/debian-root.js';
import { createNetworkNamespace, type NetworkNamespace } from './testing/network-namespace.js';
import { findSshd, sshdInRoot } from './testing/sshd-in-root.js';
import { treeDigest } from './testing/tree-digest.js';

/**
 * The three hardening tasks against a temp root laid out like a Debian host, with real tools:
 * sysctl and nft run inside a network namespace made for the test (net.* sysctls and nftables
 * are per namespace), sshd validates the temp root's config in a private mount namespace, and
 * the firewall's dead-man switch probes a real nats-server. Nothing of this machine changes.
 */
describe('hardening tasks on a temp root', () => {
  let root: string;
  let ns: NetworkNamespace;
  let nats: NatsServer;
  let sshd: string;
  let run: CommandRunner;
  const reloads: string[][] = [];

  // Not namespaced, so a test may not change them here; the operator's way to skip a rule shows in the findings.
  const disabled = [
    { rule: 'sysctl.core-dumps', reason: 'kernel-wide: not changed by tests' },
    { rule: 'sysctl.ptrace', reason: 'kernel-wide: not changed by tests' },
  ];
  const params = () => ({
    ssh: { access: ['admin'] },
    firewall: { sshCidrs: ['10.0.0.0/8'], publicPorts: [443], monitoringCidrs: ['10.9.0.0/16'], confirmSeconds: 10 },
  });
  const handlers = () => hardeningHandlers({ root, run, sshd, natsServers: async () => [nats.url] });
  const ctx = () => testTaskContext({ stateDir: STATE_DIR, agent: { ...testTaskContext().agent, natsRttMs: async () => 0.5 } });
  const audit = async (extra: Record<string, unknown> = {}) =>
    taskDefinitions['hardening.audit'].output.parse(
      await handlers()['hardening.audit'](taskDefinitions['hardening.audit'].input.parse({ params: params(), disabled, ...extra }), ctx()),
    );
  const status = (report: { findings: Array<{ rule: string; status: string }> }) => Object.fromEntries(report.findings.map((f) => [f.rule, f.status]));
  /** The host as the rules see it: the temp root (less the agent's own hardening records), sysctls and nftables of the namespace. */
  const hostState = async () => {
    const tree = await treeDigest(root);
    for (const path of Object.keys(tree)) if (path.startsWith(`${STATE_DIR.slice(1)}/hardening`)) delete tree[path];
    const sysctl = (await run('sysctl', ['-a', '--pattern', '^net\\.ipv[46]\\.'])).stdout;
    return { tree, sysctl, nft: (await run('nft', ['list', 'ruleset'])).stdout };
  };

  beforeAll(async () => {
    [root, ns, nats] = await Promise.all([debianRoot(), createNetworkNamespace(), startNats()]);
    sshd = findSshd();
    const inRoot = sshdInRoot(root, sshd);
    run = (cmd, args, opts) => {
      if (cmd === sshd) return inRoot(cmd, args, opts);
      if (cmd === 'systemctl') {
        reloads.push([...args]);
        return Promise.resolve({ code: 0, stdout: '', stderr: '' });
      }
      return ns.run(cmd, args, opts);
    };
  });
  afterAll(async () => {
    await ns?.remove();
    await nats?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('audit reports each rule with the value seen and the value wanted, and the operator’s reasons', async () => {
    const report = await audit();
    expect(status(report)).toEqual({
      'files.agent-state': 'fail',
      'files.keycloak-conf': 'fail',
      'files.keycloak-tls': 'fail',
      'sysctl.network': 'fail',
      'sysctl.core-dumps': 'disabled',
      'sysctl.ptrace': 'disabled',
      'updates.unattended': 'fail',
      'docker.daemon': 'not-applicable',
      'ssh.daemon': 'fail',
      'keycloak.brute-force': 'not-applicable',
      'keycloak.ssl-required': 'not-applicable',
      'keycloak.events': 'not-applicable',
      'keycloak.bootstrap-admin': 'not-applicable',
      'keycloak.admin-otp': 'not-applicable',
      'keycloak.hostname': 'not-applicable',
      'keycloak.http-off': 'not-applicable',
      'keycloak.management-port': 'not-applicable',
      'keycloak.admin-console': 'not-applicable',
      'net.firewall': 'fail',
    });
    const conf = report.findings.find((f) => f.rule === 'files.keycloak-conf')!;
    expect(conf.current).toContain('/opt/keyfleet/keycloak/a/conf/keycloak.conf 0644 uid 0');
    expect(conf.wanted).toContain('owned by keyfleet-agent');
    expect(report.findings.find((f) => f.rule === 'ssh.daemon')!.current).toContain('passwordauthentication yes');
    expect(report.findings.find((f) => f.rule === 'sysctl.ptrace')!.reason).toBe('kernel-wide: not changed by tests');
    expect(report.score).toBe(0);
  });

  it('a dry run lists exactly what would change and changes nothing', async () => {
    const before = await hostState();
    const out = await handlers()['hardening.apply'](taskDefinitions['hardening.apply'].input.parse({ params: params(), disabled, dryRun: true }), ctx());
    expect(await hostState()).toEqual(before);
    expect(out.rollbackId).toBeUndefined();
    expect(out.changes).toContainEqual({
      rule: 'files.keycloak-tls',
      target: `${STATE_DIR}/keycloak/tls/private-key.pem`,
      before: `0644 uid ${AGENT_UID}`,
      after: `0600 uid ${AGENT_UID}`,
    });
    expect(out.changes).toContainEqual(expect.objectContaining({ rule: 'sysctl.network', target: 'net.ipv4.conf.all.rp_filter', before: '0', after: '1' }));
    expect(out.changes).toContainEqual(
      expect.objectContaining({ rule: 'ssh.daemon', target: '/etc/ssh/sshd_config.d/01-keyfleet-hardening.conf', before: '(absent)' }),
    );
    expect(out.changes).toContainEqual(expect.objectContaining({ rule: 'net.firewall', target: 'nft table inet keyfleet', before: '(absent)' }));
  });

  it('apply fixes every failing rule, a new audit passes, rollback puts the host back byte for byte', async () => {
    const before = await hostState();
    const applied = taskDefinitions['hardening.apply'].output.parse(
      await handlers()['hardening.apply'](taskDefinitions['hardening.apply'].input.parse({ params: params(), disabled }), ctx()),
    );
    expect(applied.refused).toEqual([]);
    expect(applied.rollbackId).toMatch(/^hr_/);
    const allPass = { 'sysctl.core-dumps': 'disabled', 'sysctl.ptrace': 'disabled' };
    // No Keycloak in this root: the posture rules are not applicable (keycloak-realm-rule.test.ts runs them against one).
    expect(applied.report.findings.filter((f) => !['pass', 'disabled', 'not-applicable'].includes(f.status))).toEqual([]);
    expect(status(await audit())).toMatchObject(allPass);
    expect((await audit()).score).toBe(100);
    expect((await stat(join(root, 'opt/keyfleet/keycloak/a/conf/keycloak.conf'))).uid).toBe(AGENT_UID);
    expect(await readFile(join(root, 'etc/sysctl.d/60-keyfleet-network.conf'), 'utf8')).toContain('net.ipv4.ip_forward = 0');
    expect((await run('nft', ['list', 'table', 'inet', 'keyfleet'])).stdout).toContain('policy drop');
    expect(reloads).toContainEqual(['try-reload-or-restart', 'ssh.service']);

    // Saved for boot: a reboot (the namespace's ruleset flushed, then nftables.service's `nft -f
    // /etc/nftables.conf`) brings the same table back, and the audit still passes.
    const bootConf = await readFile(join(root, 'etc/nftables.conf'), 'utf8');
    expect(bootConf).toMatch(
      /^#!\/usr\/sbin\/nft -f\n# BEGIN keyfleet net\.firewall[^\n]*\nadd table inet keyfleet\ndelete table inet keyfleet\ntable inet keyfleet \{/,
    );
    expect((await stat(join(root, 'etc/nftables.conf'))).mode & 0o777).toBe(0o755);
    await run('nft', ['flush', 'ruleset']);
    expect((await run('nft', ['list', 'tables'])).stdout).not.toContain('keyfleet');
    expect((await run('nft', ['-f', join(root, 'etc/nftables.conf')])).code).toBe(0);
    // Loading it twice (a reload) replaces the table rather than failing on it.
    expect((await run('nft', ['-f', join(root, 'etc/nftables.conf')])).code).toBe(0);
    expect((await audit()).findings.find((f) => f.rule === 'net.firewall')).toMatchObject({ status: 'pass', current: 'table inet keyfleet as applied' });

    const rolled = await handlers()['hardening.rollback']({ rollbackId: applied.rollbackId }, ctx());
    expect(rolled.restored).toEqual([
      'files.agent-state',
      'files.keycloak-conf',
      'files.keycloak-tls',
      'sysctl.network',
      'updates.unattended',
      'ssh.daemon',
      'net.firewall',
    ]);
    expect(await hostState()).toEqual(before);
    await expect(handlers()['hardening.rollback']({ rollbackId: applied.rollbackId }, ctx())).rejects.toThrow(/already rolled back/);
  });

  it('audits a change made behind its back as a failure (drift)', async () => {
    const applied = await handlers()['hardening.apply'](
      taskDefinitions['hardening.apply'].input.parse({ params: params(), disabled, rules: ['net.firewall', 'sysctl.network'] }),
      ctx(),
    );
    // The firewall: its table, and the boot config that brings it back after a reboot.
    expect(applied.changes.filter((c) => c.rule === 'net.firewall').map((c) => c.target)).toEqual(['nft table inet keyfleet', '/etc/nftables.conf']);
    expect(applied.changes.filter((c) => c.rule !== 'net.firewall').every((c) => c.rule === 'sysctl.network')).toBe(true);
    expect(status(await audit())).toMatchObject({ 'net.firewall': 'pass', 'sysctl.network': 'pass', 'ssh.daemon': 'fail' });
    await run('nft', ['add', 'rule', 'inet', 'keyfleet', 'input', 'tcp', 'dport', '5432', 'accept']);
    await run('sysctl', ['-q', '-w', 'net.ipv4.conf.all.rp_filter=0']);
    const drifted = await audit();
    expect(status(drifted)).toMatchObject({ 'net.firewall': 'fail', 'sysctl.network': 'fail' });
    expect(drifted.findings.find((f) => f.rule === 'net.firewall')!.current).toBe('table inet keyfleet changed since it was applied');
    await handlers()['hardening.rollback']({}, ctx());
  });

  it('refuses SSH changes that would lock out the only declared key-based access, with the reason', async () => {
    const out = await handlers()['hardening.apply'](
      taskDefinitions['hardening.apply'].input.parse({ params: { ssh: { access: ['root'] } }, disabled, rules: ['ssh.daemon'] }),
      ctx(),
    );
    expect(out.refused).toEqual([{ rule: 'ssh.daemon', reason: expect.stringMatching(/^refused: no key-based access besides root is declared/) }]);
    expect(out.rollbackId).toBeUndefined();
    await expect(stat(join(root, 'etc/ssh/sshd_config.d/01-keyfleet-hardening.conf'))).rejects.toThrow(/ENOENT/);
  });
});
