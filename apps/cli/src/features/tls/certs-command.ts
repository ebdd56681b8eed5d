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
    ['state', c.state],
    ['serial', c.serial ?? '-'],
    ['not after', date(c.notAfter)],
    ['served', c.servedSerial ? `serial ${c.servedSerial} until ${date(c.servedNotAfter)} (checked ${date(c.servedCheckedAt)})` : '-'],
    ['next renewal', date(c.nextAttemptAt)],
    ['attempts', c.attempts],
    ['last error', c.lastError ?? '-'],
    ['issued in', c.lastIssuedMs === null ? '-' : `${(c.lastIssuedMs / 1000).toFixed(1)}s`],
  ]);
}

/** Exit 1 when the certificate ended failed, so scripts notice. */
function failIfFailed(c: Omit<Certificate, 'certificatePem'>): void {
  if (c.state === 'failed') throw new CliExit(1, `certificate ${c.id} failed: ${c.lastError ?? 'no reason given'}`);
}

export function certsCommand(): Command {
  const certs = new Command('certs').description('TLS certificates of hosts: issue, list, show, renew, delete');

  certs
    .command('issue')
    .description('Issue a certificate for a host: key made on the host, ACME order by the hub, installed into Keycloak and proven served')
    .requiredOption('--target <host>', 'host id or hostname')
    .requiredOption('--domain <name...>', 'DNS name(s) the certificate is for')
    .option('--challenge <type>', 'http-01 (dns-01 is not supported yet)', 'http-01')
    .option('--ca <url>', 'ACME directory URL (default: the hub’s)')
    .option('--key-type <type>', 'ecdsa-p256 | rsa-2048', 'ecdsa-p256')
    .option('--https-port <port>', 'Keycloak’s HTTPS port', port, 8443)
    .option('--http01-port <port>', 'port the CA connects to for HTTP-01', port, 80)
    .option('--reload-period <duration>', 'how often Keycloak re-reads the certificate files (> 30s)', '1m')
    .option('--wait', 'wait until issued (or failed) and show it; exit 1 on failure')
    .action(async (opts, cmd: Command) => {
      const ctx = await cliContext(cmd);
      if (opts.challenge !== 'http-01') throw new CliExit(2, `challenge ${opts.challenge} is not supported yet; use http-01`);
      const created = await expectOk(
        await certificatesClient(ctx).certificates.$post({
          json: {
            target: opts.target,
            domains: opts.domain,
            challenge: 'http-01',
            ...(opts.ca ? { ca: opts.ca } : {}),
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
    .command('delete <id>')
    .description('Stop managing a certificate (no renewals or retries); what the host serves is left alone')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const ctx = await cliContext(cmd);
      await expectOk(await certificatesClient(ctx).certificates[':id'].$delete({ param: { id } }));
      ctx.output.line(`certificate ${id} is no longer managed`);
    });

  return certs;
}
