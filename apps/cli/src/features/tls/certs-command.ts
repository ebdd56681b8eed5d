import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { type CliContext, cliContext } from '../../cli-context.js';
import { CliExit } from '../../cli-exit.js';
import { expectOk } from '../../hub-client.js';
import { certificatesClient } from './certificates-client.js';

type Certificate = Awaited<ReturnType<typeof getCertificate>>;

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port number 1-65535');
  return n;
};

async function getCertificate(ctx: CliContext, id: string) {
  return expectOk(await certificatesClient(ctx).certificates[':id'].$get({ param: { id } }));
}

/**
 * Polls until the attempt the request made due ended: the row is valid or failed and its next
 * attempt is no longer `due` (a finished attempt sets the renewal time or the retry time).
 */
async function waitSettled(ctx: CliContext, id: string, due: string | null, timeoutMs: number): Promise<Certificate> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await getCertificate(ctx, id);
    if ((c.state === 'valid' || c.state === 'failed') && c.nextAttemptAt !== due) return c;
    if (Date.now() > deadline) throw new CliExit(1, `certificate ${id} is still ${c.state} after ${Math.round(timeoutMs / 1000)}s`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

const date = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : '-');

function show(ctx: CliContext, c: Omit<Certificate, 'certificatePem'>): void {
  ctx.output.details(c, [
    ['id', c.id],
    ['host', `${c.hostname} (${c.hostId})`],
    ['domains', c.domains.join(', ')],
    ['issuer', c.issuer.kind === 'acme' ? `ACME ${c.issuer.directoryUrl}` : 'internal CA'],
    ['challenge', c.dns ? `${c.challenge} via ${c.dns.provider === 'rfc2136' ? `rfc2136 ${c.dns.server}` : 'hook'}` : c.challenge],
    ['state', c.state],
    ...(c.revokedAt ? ([['revoked', `${date(c.revokedAt)} (${c.revocationReason ?? 'unspecified'})`]] as Array<[string, unknown]>) : []),
    ['serial', c.serial ?? '-'],
    ['not after', date(c.notAfter)],
    ['served', c.servedSerial ? `serial ${c.servedSerial} until ${date(c.servedNotAfter)} (checked ${date(c.servedCheckedAt)})` : '-'],
    ['next renewal', date(c.nextAttemptAt)],
    ['renewal window', c.renewalWindow ? `${date(c.renewalWindow.start)} … ${date(c.renewalWindow.end)} (the CA’s, ARI)` : '-'],
    ['attempts', c.attempts],
    ['last error', c.lastError ?? '-'],
    ['issued in', c.lastIssuedMs === null ? '-' : `${(c.lastIssuedMs / 1000).toFixed(1)}s`],
  ]);
}

/**
 * The request's `dns` block from the flags; the hub checks the combination (400s) so the rules
 * live in one place, but a provider name the hub cannot know is refused here with exit 2.
 */
function dnsProvider(opts: Record<string, string | undefined>) {
  if (opts.dnsProvider === 'hook') return { provider: 'hook' as const };
  if (opts.dnsProvider !== 'rfc2136') throw new CliExit(2, `--dns-provider ${opts.dnsProvider}: use rfc2136 or hook`);
  const missing = (['dnsServer', 'tsigKeyName', 'tsigSecret'] as const).filter((k) => !opts[k]);
  if (missing.length > 0)
    throw new CliExit(2, `--dns-provider rfc2136 needs ${missing.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  return {
    provider: 'rfc2136' as const,
    server: opts.dnsServer!,
    ...(opts.dnsZone ? { zone: opts.dnsZone } : {}),
    keyName: opts.tsigKeyName!,
    algorithm: opts.tsigAlgorithm as 'hmac-sha256',
    secret: { $secret: opts.tsigSecret! },
  };
}

/** Exit 1 when the certificate ended failed, so scripts notice. */
function failIfFailed(c: Omit<Certificate, 'certificatePem'>): void {
  if (c.state === 'failed') throw new CliExit(1, `certificate ${c.id} failed: ${c.lastError ?? 'no reason given'}`);
}

export function certsCommand(): Command {
  const certs = new Command('certs').description('TLS certificates of hosts: issue, list, show, renew, revoke, delete');

  certs
    .command('issue')
    .description(
      'Issue a certificate for a host: key made on the host, signed by an ACME CA (HTTP-01 or DNS-01) or the hub’s internal CA, installed into Keycloak and proven served',
    )
    .requiredOption('--target <host>', 'host id or hostname')
    .requiredOption('--domain <name...>', 'DNS name(s) the certificate is for')
    .option('--issuer <kind>', 'acme (an ACME CA) | internal (the hub’s own CA: labs, air-gapped fleets)', 'acme')
    .option('--challenge <type>', 'ACME: http-01 (default) | dns-01 (default when a --dns-provider is given)')
    .option('--ca <url>', 'ACME directory URL (default: the hub’s)')
    .option('--dns-provider <kind>', 'DNS-01: rfc2136 (dynamic updates with TSIG) | hook (the hub’s KEYFLEET_DNS01_HOOK command)')
    .option('--dns-server <host:port>', 'rfc2136: the primary DNS server that accepts updates')
    .option('--dns-zone <zone>', 'rfc2136: the zone to update (default: found from the server’s SOA)')
    .option('--tsig-key-name <name>', 'rfc2136: TSIG key name')
    .option('--tsig-algorithm <alg>', 'rfc2136: hmac-sha256 | hmac-sha384 | hmac-sha512', 'hmac-sha256')
    .option('--tsig-secret <secret name>', 'rfc2136: the hub secret holding the base64 TSIG secret (keyfleet secrets set)')
    .option('--key-type <type>', 'ecdsa-p256 | rsa-2048', 'ecdsa-p256')
    .option('--https-port <port>', 'Keycloak’s HTTPS port', port, 8443)
    .option('--http01-port <port>', 'port the CA connects to for HTTP-01', port, 80)
    .option('--reload-period <duration>', 'how often Keycloak re-reads the certificate files (> 30s)', '1m')
    .option('--wait', 'wait until issued (or failed) and show it; exit 1 on failure')
    .action(async (opts, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const created = await expectOk(
        await certificatesClient(ctx).certificates.$post({
          json: {
            target: opts.target,
            domains: opts.domain,
            issuer: opts.issuer,
            ...(opts.challenge ? { challenge: opts.challenge } : {}),
            ...(opts.ca ? { ca: opts.ca } : {}),
            ...(opts.dnsProvider ? { dns: dnsProvider(opts) } : {}),
            keyType: opts.keyType,
            httpsPort: opts.httpsPort,
            http01Port: opts.http01Port,
            reloadPeriod: opts.reloadPeriod,
          },
        }),
      );
      if (!opts.wait) return show(ctx, created);
      const done = await waitSettled(ctx, created.id, created.nextAttemptAt, 15 * 60_000);
      show(ctx, done);
      failIfFailed(done);
    });

  certs
    .command('trust-bundle')
    .description('The hub’s internal CA certificate (PEM), for hosts and clients to trust')
    .option('--out <file>', 'write it to this file instead of stdout')
    .action(async (opts: { out?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const bundle = await expectOk(await certificatesClient(ctx).tls['trust-bundle'].$get());
      if (!opts.out) return void process.stdout.write(bundle.certificatePem);
      await writeFile(opts.out, bundle.certificatePem);
      ctx.output.details(bundle, [
        ['written to', opts.out],
        ['subject', bundle.subject],
        ['sha256', bundle.fingerprint256],
        ['not after', date(bundle.notAfter)],
      ]);
    });

  certs
    .command('list')
    .description('Every certificate: state, serial served, not-after, next renewal, last error')
    .option('--host <host>', 'only this host (id or hostname)')
    .action(async (opts: { host?: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const body = await expectOk(await certificatesClient(ctx).certificates.$get({ query: opts.host ? { host: opts.host } : {} }));
      ctx.output.table(body, body.items, [
        ['ID', (c) => c.id],
        ['HOST', (c) => c.hostname],
        ['DOMAINS', (c) => c.domains.join(',')],
        ['STATE', (c) => c.state],
        ['SERVED SERIAL', (c) => c.servedSerial ?? '-'],
        ['NOT AFTER', (c) => date(c.servedNotAfter ?? c.notAfter)],
        ['NEXT RENEWAL', (c) => date(c.nextAttemptAt)],
        ['LAST ERROR', (c) => c.lastError ?? ''],
      ]);
    });

  certs
    .command('show <id>')
    .description('One certificate')
    .option('--pem', 'print the certificate chain (PEM) only')
    .action(async (id: string, opts: { pem?: boolean }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const c = await getCertificate(ctx, id);
      if (opts.pem) {
        if (!c.certificatePem) throw new CliExit(1, `certificate ${id} has not been issued yet`);
        process.stdout.write(c.certificatePem);
        return;
      }
      show(ctx, c);
    });

  certs
    .command('renew <id>')
    .description('Renew now (or retry a failed issuance now)')
    .option('--wait', 'wait until the new certificate is served (or the attempt failed); exit 1 on failure')
    .action(async (id: string, opts: { wait?: boolean }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const due = await expectOk(await certificatesClient(ctx).certificates[':id'].renew.$post({ param: { id } }));
      if (!opts.wait) return show(ctx, due);
      const done = await waitSettled(ctx, id, due.nextAttemptAt, 15 * 60_000);
      show(ctx, done);
      failIfFailed(done);
    });

  certs
    .command('revoke <id>')
    .description('Revoke at the CA (ACME) or in the internal CA’s CRL, and stop renewing; the host serves it until a new one is installed (certs renew)')
    .option('--reason <reason>', 'unspecified | keyCompromise | affiliationChanged | superseded | cessationOfOperation', 'unspecified')
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      const ctx = await cliContext(cmd);
      const reasons = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;
      const reason = reasons.find((r) => r === opts.reason);
      if (!reason) throw new CliExit(2, `--reason ${opts.reason}: use one of ${reasons.join(', ')}`);
      show(ctx, await expectOk(await certificatesClient(ctx).certificates[':id'].revoke.$post({ param: { id }, json: { reason } })));
    });

  certs
    .command('delete <id>')
    .description('Stop managing a certificate (no renewals or retries); what the host serves is left alone')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      await expectOk(await certificatesClient(ctx).certificates[':id'].$delete({ param: { id } }));
      ctx.output.line(`certificate ${id} is no longer managed`);
    });

  return certs;
}
