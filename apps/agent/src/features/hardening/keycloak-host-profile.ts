import { join } from 'node:path';
import type { HardeningRule } from './hardening-rule.js';
import { dockerDaemonRule } from './rules/docker-daemon-rule.js';
import { fileModesRule } from './rules/file-modes-rule.js';
import { keycloakAdminConsoleRule } from './rules/keycloak-admin-console-rule.js';
import { keycloakAdminOtpRule } from './rules/keycloak-admin-otp-rule.js';
import { keycloakBootstrapAdminRule } from './rules/keycloak-bootstrap-admin-rule.js';
import { keycloakConfigRule } from './rules/keycloak-config-rule.js';
import { keycloakRealmRule } from './rules/keycloak-realm-rule.js';
import { nftFirewallRule } from './rules/nft-firewall-rule.js';
import { sshDaemonRule } from './rules/ssh-daemon-rule.js';
import { sysctlRule } from './rules/sysctl-rule.js';
import { unattendedUpgradesRule } from './rules/unattended-upgrades-rule.js';

/**
 * The built-in `keycloak-host` profile: every rule, in the order they are checked and applied
 * (files and kernel first, SSH, Keycloak, the firewall last so its dead-man switch guards only itself).
 */
export const keycloakHostProfile: readonly HardeningRule[] = [
  fileModesRule({
    id: 'files.agent-state',
    title: 'Agent state dir private',
    why: 'It holds the agent’s NATS seed and the Keycloak admin password.',
    files: (env) => [
      { path: env.params.paths.agentStateDir, mode: 0o700 },
      { path: env.params.paths.keycloakInstanceFile, mode: 0o600 },
    ],
  }),
  fileModesRule({
    id: 'files.keycloak-conf',
    title: 'Keycloak config readable by its owner only',
    why: 'keycloak.conf carries the database password and keystore passwords.',
    runtimes: ['process'],
    files: (env) => {
      const dir = env.params.paths.keycloakConfDir;
      return dir
        ? [
            { path: dir, mode: 0o750 },
            { path: join(dir, 'keycloak.conf'), mode: 0o600 },
          ]
        : [];
    },
  }),
  fileModesRule({
    id: 'files.keycloak-tls',
    title: 'TLS key private, certificate public',
    why: 'Whoever reads the private key can impersonate the Keycloak.',
    files: (env) => [
      { path: env.params.paths.keycloakTlsDir, mode: 0o750 },
      { path: join(env.params.paths.keycloakTlsDir, 'private-key.pem'), mode: 0o600 },
      { path: join(env.params.paths.keycloakTlsDir, 'certificate.pem'), mode: 0o644 },
    ],
  }),
  sysctlRule({
    id: 'sysctl.network',
    title: 'Kernel network hardening',
    why: 'Refuses spoofed sources, ICMP redirects and source routing; survives SYN floods.',
    file: 'etc/sysctl.d/60-keyfleet-network.conf',
    settings: (env) => [
      // Docker routes container traffic through the host: turning forwarding off would cut Keycloak off (dev-sec #213).
      // First: writing ip_forward makes the kernel reset conf.all.accept_redirects, so it must precede it.
      ...(env.params.runtime === 'docker' ? [] : [{ key: 'net.ipv4.ip_forward', value: '0' }]),
      { key: 'net.ipv4.conf.all.rp_filter', value: '1' },
      { key: 'net.ipv4.conf.default.rp_filter', value: '1' },
      { key: 'net.ipv4.conf.all.accept_redirects', value: '0' },
      { key: 'net.ipv4.conf.default.accept_redirects', value: '0' },
      { key: 'net.ipv4.conf.all.send_redirects', value: '0' },
      { key: 'net.ipv4.conf.default.send_redirects', value: '0' },
      { key: 'net.ipv4.conf.all.accept_source_route', value: '0' },
      { key: 'net.ipv4.icmp_echo_ignore_broadcasts', value: '1' },
      { key: 'net.ipv4.tcp_syncookies', value: '1' },
      { key: 'net.ipv4.conf.all.log_martians', value: '1' },
      { key: 'net.ipv6.conf.all.accept_redirects', value: '0' },
      { key: 'net.ipv6.conf.default.accept_redirects', value: '0' },
    ],
  }),
  sysctlRule({
    id: 'sysctl.core-dumps',
    title: 'No core dumps of privileged processes',
    why: 'A core dump of Keycloak or the agent would write secrets to disk.',
    file: 'etc/sysctl.d/60-keyfleet-core-dumps.conf',
    settings: () => [
      { key: 'fs.suid_dumpable', value: '0' },
      { key: 'kernel.core_pattern', value: '|/bin/false' },
    ],
  }),
  sysctlRule({
    id: 'sysctl.ptrace',
    title: 'ptrace limited to parents',
    why: 'A compromised process of the same user cannot read Keycloak’s memory.',
    file: 'etc/sysctl.d/60-keyfleet-ptrace.conf',
    settings: () => [{ key: 'kernel.yama.ptrace_scope', value: '1', atLeast: true }],
  }),
  unattendedUpgradesRule,
  dockerDaemonRule,
  sshDaemonRule,
  keycloakRealmRule({
    id: 'keycloak.brute-force',
    title: 'Keycloak: brute-force detection in every realm',
    why: 'Without it a password can be guessed online at the speed Keycloak answers.',
    wanted: 'bruteForceProtected on',
    ok: (r) => r.bruteForceProtected === true,
    show: (r) => `bruteForceProtected ${r.bruteForceProtected ? 'on' : 'off'}`,
    fix: () => ({ bruteForceProtected: true }),
    pick: (r) => ({ bruteForceProtected: r.bruteForceProtected ?? false }),
  }),
  keycloakRealmRule({
    id: 'keycloak.ssl-required',
    title: 'Keycloak: TLS required (sslRequired not none)',
    why: 'With none, tokens and passwords may cross public networks in clear text.',
    wanted: 'sslRequired external or all',
    ok: (r) => r.sslRequired !== undefined && r.sslRequired !== 'none',
    show: (r) => `sslRequired ${r.sslRequired ?? '-'}`,
    // external: TLS for everyone but private addresses, so the agent's loopback admin calls keep working.
    fix: () => ({ sslRequired: 'external' }),
    pick: (r) => ({ sslRequired: r.sslRequired ?? 'external' }),
  }),
  keycloakRealmRule({
    id: 'keycloak.events',
    title: 'Keycloak: login events saved, with an expiry',
    why: 'Failed logins are the first evidence of an attack; without an expiry the events table grows forever.',
    wanted: 'events saved, expiring (30 days when set by Keyfleet)',
    ok: (r) => r.eventsEnabled === true && (r.eventsExpiration ?? 0) > 0,
    show: (r) => `events ${r.eventsEnabled ? 'saved' : 'off'}, expiry ${r.eventsExpiration ? `${r.eventsExpiration}s` : 'none'}`,
    fix: (r) => ({ eventsEnabled: true, eventsExpiration: (r.eventsExpiration ?? 0) > 0 ? r.eventsExpiration : 30 * 24 * 3600 }),
    // Keycloak treats an absent expiry as "unchanged", so 0 is how rollback clears it again.
    pick: (r) => ({ eventsEnabled: r.eventsEnabled ?? false, eventsExpiration: r.eventsExpiration ?? 0 }),
  }),
  keycloakBootstrapAdminRule,
  keycloakAdminOtpRule,
  keycloakConfigRule({
    id: 'keycloak.hostname',
    title: 'Keycloak: public hostname set',
    why: 'Without a fixed hostname Keycloak trusts the Host header, so tokens and reset links can point anywhere.',
    wanted: 'hostname a public name or URL',
    verdict: ({ config }) => {
      // hostname is a URL or a bare name (with a port perhaps): only the host part decides.
      const host = config.hostname.includes('://') ? new URL(config.hostname).hostname : config.hostname.replace(/:\d+$/, '');
      const ok = host !== '' && !/^(localhost|127\.[\d.]+|0\.0\.0\.0|::1?|\[::1?\])$/i.test(host);
      return { ok, current: `hostname ${config.hostname}`, fix: 'set hostname to the public URL in the config, then keyfleet keycloak update --config' };
    },
  }),
  keycloakConfigRule({
    id: 'keycloak.http-off',
    title: 'Keycloak: no plain HTTP once TLS is on',
    why: 'A login over the HTTP port sends passwords and tokens in clear text beside the HTTPS one.',
    wanted: 'tls.httpEnabled off when a certificate is installed',
    verdict: ({ config }) =>
      config.tls?.certificateFile
        ? {
            ok: config.tls.httpEnabled !== true,
            current: `TLS on, HTTP ${config.tls.httpEnabled ? `on port ${config.httpPort}` : 'off'}`,
            fix: 'set tls.httpEnabled: false in the config, then keyfleet keycloak update --config',
          }
        : { ok: false, current: 'TLS off', notApplicable: 'no certificate installed: HTTP is Keycloak’s only listener' },
  }),
  keycloakConfigRule({
    id: 'keycloak.management-port',
    title: 'Keycloak: management port not public',
    why: 'Metrics and health on the management port tell an attacker versions, realms and load.',
    wanted: 'management port reachable from the monitoring CIDRs only',
    // Keycloak (or the agent's front before it) listens on the management port on every address and
    // the config has no bind address for it: the firewall rule is what keeps it off public networks.
    verdict: ({ config }, env) => ({
      ok: env.params.firewall?.managementPort === config.managementPort && env.params.firewall.monitoringCidrs.length > 0,
      current: `port ${config.managementPort} on all addresses, ${env.params.firewall?.managementPort === config.managementPort ? `firewalled to ${env.params.firewall.monitoringCidrs.join(', ') || 'nobody'}` : 'not in the firewall parameters'}`,
      fix: `set params.firewall.managementPort: ${config.managementPort} and monitoringCidrs in the profile (net.firewall then admits only those)`,
    }),
  }),
  keycloakAdminConsoleRule,
  nftFirewallRule,
];
