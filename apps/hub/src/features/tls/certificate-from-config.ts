import { randomBytes } from 'node:crypto';
import { type CertificateRequest, keycloakConfig } from '@keyfleet/proto/v1';
import { sql } from 'kysely';
import type { ResultProjection } from '../../dispatch/result-projection.js';
import type { CertificateIssuer, DnsProviderConfig } from './certificates-tables.js';
import { tlsDb } from './certificates-tables.js';
import { defaultAcmeDirectory } from './default-acme-directory.js';

/** What a `tls.certificate` block asks the hub for, as the certificate's row holds it. */
function wantedRow(request: CertificateRequest, tls: { httpsPort: number; reloadPeriod: string }) {
  const issuer: CertificateIssuer = request.issuer === 'internal' ? { kind: 'internal' } : { kind: 'acme', directoryUrl: request.ca ?? defaultAcmeDirectory() };
  const dns: DnsProviderConfig | null = !request.dns
    ? null
    : request.dns.provider === 'hook'
      ? { provider: 'hook' }
      : {
          provider: 'rfc2136',
          server: request.dns.server,
          ...(request.dns.zone ? { zone: request.dns.zone } : {}),
          keyName: request.dns.keyName,
          algorithm: request.dns.algorithm,
          // The row holds a reference the hub resolves itself; it is never part of a task.
          secret: { $secret: request.dns.tsigSecret },
        };
  return {
    domains: request.domains,
    issuer,
    challenge: request.issuer === 'internal' ? ('none' as const) : (request.challenge ?? (request.dns ? ('dns-01' as const) : ('http-01' as const))),
    dns,
    key_type: request.keyType,
    http01_port: request.http01Port,
    https_port: tls.httpsPort,
    reload_period: tls.reloadPeriod,
  };
}

type Wanted = ReturnType<typeof wantedRow>;
const same = (a: Wanted, b: Wanted) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The certificate a Keycloak config asks for (`tls.certificate`), made real once Keycloak is
 * installed or updated with it: a certificate row for the host, due now, which the certificate
 * scheduler issues, installs on the public HTTPS port and renews like any other. A hub-side
 * reaction to the result, not agent work: the host then gets the ordinary tls.csr/challenge/install
 * tasks. One such row per host, kept in step with the last config applied: the same request
 * changes nothing, a changed one re-issues at once; a config without the block leaves it alone.
 */
export const certificateFromConfig: ResultProjection<'keycloak.install' | 'keycloak.update'> = async (trx, r, log) => {
  if (r.outcome !== 'succeeded') return;
  const config = keycloakConfig.safeParse(r.params);
  const request = config.success ? config.data.tls?.certificate : undefined;
  if (!config.success || !config.data.tls || !request) return;
  const wanted = wantedRow(request, config.data.tls);
  const db = tlsDb(trx);
  const existing = await db
    .selectFrom('certificates')
    .selectAll()
    .where('host_id', '=', r.hostId)
    .where('requested_by_config', '=', true)
    .forUpdate()
    .executeTakeFirst();
  if (existing) {
    const current: Wanted = {
      domains: existing.domains,
      issuer: existing.issuer,
      challenge: existing.challenge,
      dns: existing.dns,
      key_type: existing.key_type,
      http01_port: existing.http01_port,
      https_port: existing.https_port,
      reload_period: existing.reload_period,
    };
    // Compared in one key order: the row's JSON columns come back from Postgres with theirs.
    const normal = (w: Wanted) => JSON.parse(JSON.stringify(w, Object.keys(flatKeys(w)).sort())) as Wanted;
    if (same(normal(current), normal(wanted))) return;
    await db
      .updateTable('certificates')
      .set({
        ...wanted,
        domains: JSON.stringify(wanted.domains),
        issuer: JSON.stringify(wanted.issuer),
        dns: wanted.dns === null ? null : JSON.stringify(wanted.dns),
        // A running issuance finishes first and sets its own next time; this one then follows.
        ...(existing.state === 'issuing' ? {} : { state: existing.serial ? 'valid' : 'pending' }),
        next_attempt_at: sql<Date>`now()`,
        attempts: 0,
        last_error: null,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', existing.id)
      .execute();
    log.info({ certificateId: existing.id, hostId: r.hostId, taskId: r.taskId }, 'the Keycloak config asks for another certificate: issuing it now');
    return;
  }
  const id = `crt_${randomBytes(10).toString('hex')}`;
  // INSERT … SELECT from hosts: a host decommissioned meanwhile gets no row (and no FK error that would lose the result).
  await db
    .insertInto('certificates')
    .columns([
      'id',
      'host_id',
      'domains',
      'issuer',
      'challenge',
      'dns',
      'key_type',
      'http01_port',
      'https_port',
      'reload_period',
      'state',
      'next_attempt_at',
      'requested_by_config',
      'created_by',
    ])
    .expression((eb) =>
      eb
        .selectFrom('hosts')
        .select([
          eb.val(id).as('id'),
          'hosts.id as host_id',
          sql<string>`${JSON.stringify(wanted.domains)}::jsonb`.as('domains'),
          sql<string>`${JSON.stringify(wanted.issuer)}::jsonb`.as('issuer'),
          eb.val(wanted.challenge).as('challenge'),
          sql<string | null>`${wanted.dns === null ? null : JSON.stringify(wanted.dns)}::jsonb`.as('dns'),
          eb.val(wanted.key_type).as('key_type'),
          eb.val(wanted.http01_port).as('http01_port'),
          eb.val(wanted.https_port).as('https_port'),
          eb.val(wanted.reload_period).as('reload_period'),
          eb.val('pending').as('state'),
          sql<Date>`now()`.as('next_attempt_at'),
          eb.val(true).as('requested_by_config'),
          eb.val(`${r.type} (task ${r.taskId})`).as('created_by'),
        ])
        .where('hosts.id', '=', r.hostId),
    )
    .onConflict((oc) => oc.column('host_id').where('requested_by_config', '=', true).doNothing())
    .execute();
  log.info({ certificateId: id, hostId: r.hostId, taskId: r.taskId, domains: wanted.domains }, 'the Keycloak config asks for a certificate: issuing it');
};

/** Every key at any depth, so JSON.stringify's key list keeps nested objects whole. */
function flatKeys(value: unknown, out: Record<string, true> = {}): Record<string, true> {
  if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      out[k] = true;
      flatKeys(v, out);
    }
  return out;
}
