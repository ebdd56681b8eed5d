import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { X509Certificate } from 'node:crypto';
import { CertificateSchema, certificateView } from './certificate-view.js';
import { certificateRequestProblem } from '@keyfleet/proto/v1';
import { CertificateDomainSchema, DnsProviderSchema } from './dns-provider-schema.js';
import { dns01HookCommand } from './dns01/create-dns01-provider.js';
import { defaultAcmeDirectory } from './default-acme-directory.js';
import { InternalCa } from './internal-ca.js';
import { certificateIssuerFor } from './certificate-issuer-for.js';
import { type RevocationReason, revocationReasonNames } from './revocation-reason.js';
import { tlsDb } from './certificates-tables.js';

const IssueRequest = z
  .object({
    target: z.string().min(1).max(253).openapi({ description: 'Host id or hostname' }),
    domains: z.array(CertificateDomainSchema).min(1).max(100).openapi({ description: 'DNS names; a wildcard (*.example.com) needs challenge dns-01' }),
    issuer: z
      .enum(['acme', 'internal'])
      .default('acme')
      .openapi({ description: 'acme: an ACME CA (--ca); internal: the hub’s own CA (labs, air-gapped fleets; trust GET /v1/tls/trust-bundle)' }),
    challenge: z.enum(['http-01', 'dns-01']).optional().openapi({ description: 'ACME only: http-01 (default) or dns-01 (with dns)' }),
    dns: DnsProviderSchema.optional().openapi({ description: 'DNS-01 only: where the challenge records go' }),
    ca: z
      .url({ protocol: /^https$/ })
      .max(2000)
      .optional()
      .openapi({ description: 'ACME directory URL (default: the hub’s KEYFLEET_ACME_DIRECTORY_URL, else Let’s Encrypt)' }),
    keyType: z.enum(['ecdsa-p256', 'rsa-2048']).default('ecdsa-p256'),
    http01Port: z.number().int().min(1).max(65535).default(80).openapi({ description: 'Port the CA connects to for HTTP-01 (80 unless a test CA)' }),
    httpsPort: z.number().int().min(1).max(65535).default(8443),
    reloadPeriod: z
      .string()
      .regex(/^\d+[smh]$/)
      .default('1m'),
  })
  .strict()
  .openapi('CertificateIssueRequest');

/**
 * The request's issuer and challenge, or a 400 that says what to change: each issuer takes only
 * the settings it uses, so a typo'd combination is refused instead of silently ignored.
 */
async function issuerSettings(body: z.output<typeof IssueRequest>, deps: ApiDeps) {
  // The same rules keycloak.install's tls.certificate is validated with (one statement, in proto).
  const problem = certificateRequestProblem(body);
  if (problem) throw new ApiError(400, problem);
  if (body.issuer === 'internal') return { issuer: { kind: 'internal' as const }, challenge: 'none' as const, dns: null };
  const challenge = body.challenge ?? (body.dns ? 'dns-01' : 'http-01');
  if (body.dns?.provider === 'hook' && !dns01HookCommand())
    throw new ApiError(400, 'dns provider hook needs the hub setting KEYFLEET_DNS01_HOOK (the command that publishes the record); this hub has none');
  if (body.dns?.provider === 'rfc2136') {
    const name = body.dns.secret.$secret;
    const problem = (await deps.secrets.reveal([name])).problems.get(name);
    if (problem) throw new ApiError(400, `the TSIG secret: ${problem}`);
  }
  return { issuer: { kind: 'acme' as const, directoryUrl: body.ca ?? defaultAcmeDirectory() }, challenge, dns: body.dns ?? null };
}

const trustBundle = createRoute({
  method: 'get',
  path: '/tls/trust-bundle',
  summary: 'The hub’s internal CA certificate, for hosts and clients to trust (made on first use)',
  responses: {
    200: {
      description: 'Trust bundle',
      content: {
        'application/json': {
          schema: z.object({ certificatePem: z.string(), subject: z.string(), fingerprint256: z.string(), notAfter: z.string() }).openapi('TrustBundle'),
        },
      },
    },
    ...errorResponses(401, 403),
  },
});

const IdParams = z.object({ id: z.string().min(1).max(64) });

const issue = createRoute({
  method: 'post',
  path: '/certificates',
  summary: 'Ask for a certificate for a host; the hub issues, installs and proves it in the background',
  request: { body: { required: true, content: { 'application/json': { schema: IssueRequest } } } },
  responses: {
    201: { description: 'Queued for issuance', content: { 'application/json': { schema: CertificateSchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const list = createRoute({
  method: 'get',
  path: '/certificates',
  summary: 'Every certificate: state, what is served, next renewal, last error',
  request: { query: z.object({ host: z.string().min(1).max(253).optional() }) },
  responses: {
    200: { description: 'Certificates', content: { 'application/json': { schema: z.object({ items: z.array(CertificateSchema) }) } } },
    ...errorResponses(400, 401, 403),
  },
});

const get = createRoute({
  method: 'get',
  path: '/certificates/{id}',
  summary: 'One certificate, with its PEM chain (public material only)',
  request: { params: IdParams },
  responses: {
    200: {
      description: 'Certificate',
      content: { 'application/json': { schema: CertificateSchema.extend({ certificatePem: z.string().nullable() }) } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

const renew = createRoute({
  method: 'post',
  path: '/certificates/{id}/renew',
  summary: 'Renew now (also retries a failed issuance at once)',
  request: { params: IdParams },
  responses: {
    202: { description: 'Due now', content: { 'application/json': { schema: CertificateSchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const revoke = createRoute({
  method: 'post',
  path: '/certificates/{id}/revoke',
  summary: 'Revoke the certificate at its CA (ACME revokeCert; the internal CA lists it in its CRL) and stop renewing it',
  description:
    'The host keeps serving it until a new one is installed (`POST /certificates/{id}/renew` issues a fresh certificate for the same row). 409 while an issuance runs, when nothing was issued yet, or when it is already revoked; 502 when the ACME CA refuses or cannot be reached (the row is unchanged).',
  request: {
    params: IdParams,
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z
            .object({
              reason: z
                .enum(revocationReasonNames)
                .default('unspecified')
                .openapi({ description: 'RFC 5280 reason: unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation' }),
            })
            .strict()
            .openapi('CertificateRevokeRequest'),
        },
      },
    },
  },
  responses: {
    200: { description: 'Revoked', content: { 'application/json': { schema: CertificateSchema } } },
    ...errorResponses(400, 401, 403, 404, 409, 502),
  },
});

const crl = createRoute({
  method: 'get',
  path: '/tls/crl',
  summary: 'The internal CA’s certificate revocation list (PEM, signed now, valid a day): every certificate it issued that was revoked',
  responses: {
    200: { description: 'CRL', content: { 'application/pkix-crl': { schema: z.string() } } },
    ...errorResponses(401, 403),
  },
});

const remove = createRoute({
  method: 'delete',
  path: '/certificates/{id}',
  summary: 'Stop managing a certificate (no more renewals or retries); what the host serves is left alone',
  request: { params: IdParams },
  responses: {
    200: { description: 'Removed', content: { 'application/json': { schema: z.object({ id: z.string() }) } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

/** The certificates API under /v1; its type gives the CLI a typed client of just these. */
export function certificatesRoutes(deps: ApiDeps) {
  const coreDb = deps.db;
  const guard = createGuard(coreDb);
  const db = tlsDb(coreDb);
  const rows = () => db.selectFrom('certificates').innerJoin('hosts', 'hosts.id', 'certificates.host_id').selectAll('certificates').select('hosts.hostname');
  const one = async (id: string) => {
    const row = await rows().where('certificates.id', '=', id).executeTakeFirst();
    if (!row) throw new ApiError(404, `certificate ${id} not found`);
    return row;
  };
  return createRouter()
    .openapi({ ...issue, middleware: [guard('operator', 'certificates.issue')] }, async (c) => {
      const body = c.req.valid('json');
      const hosts = await db
        .selectFrom('hosts')
        .select(['id', 'task_types'])
        .where((eb) => eb.or([eb('id', '=', body.target), eb('hostname', '=', body.target)]))
        .execute();
      if (hosts.length === 0) throw new ApiError(404, `host ${body.target} not found`);
      if (hosts.length > 1) throw new ApiError(409, `${hosts.length} hosts are named ${body.target}; use the host id`);
      const host = hosts[0]!;
      const missing = ['tls.csr', 'tls.challenge', 'tls.install'].filter((t) => host.task_types.length > 0 && !host.task_types.includes(t));
      if (missing.length > 0) throw new ApiError(409, `the agent on ${body.target} does not support ${missing.join(', ')} (upgrade it)`);
      const settings = await issuerSettings(body, deps);
      // The agent uses the id as a directory name; proto's certificateId admits exactly this shape.
      const id = `crt_${randomBytes(10).toString('hex')}`;
      noteAudit(c, { target: id, detail: { hostId: host.id, domains: body.domains, issuer: settings.issuer.kind, challenge: settings.challenge } });
      await db
        .insertInto('certificates')
        .values({
          id,
          host_id: host.id,
          domains: JSON.stringify(body.domains),
          issuer: JSON.stringify(settings.issuer),
          challenge: settings.challenge,
          dns: settings.dns === null ? null : JSON.stringify(settings.dns),
          key_type: body.keyType,
          http01_port: body.http01Port,
          https_port: body.httpsPort,
          reload_period: body.reloadPeriod,
          state: 'pending',
          next_attempt_at: sql<Date>`now()`,
          created_by: c.get('actor')?.label ?? 'unknown',
        })
        .execute();
      return c.json(certificateView(await one(id)), 201);
    })
    .openapi({ ...list, middleware: [guard('viewer', 'certificates.list')] }, async (c) => {
      const { host } = c.req.valid('query');
      let q = rows().orderBy('hosts.hostname').orderBy('certificates.created_at');
      if (host) q = q.where((eb) => eb.or([eb('hosts.id', '=', host), eb('hosts.hostname', '=', host)]));
      return c.json({ items: (await q.execute()).map(certificateView) }, 200);
    })
    .openapi({ ...trustBundle, middleware: [guard('viewer', 'certificates.trust-bundle')] }, async (c) => {
      const pem = await new InternalCa(deps.secrets).trustBundle();
      const cert = new X509Certificate(pem);
      return c.json({ certificatePem: pem, subject: cert.subject, fingerprint256: cert.fingerprint256, notAfter: new Date(cert.validTo).toISOString() }, 200);
    })
    .openapi({ ...get, middleware: [guard('viewer', 'certificates.get')] }, async (c) => {
      const row = await one(c.req.valid('param').id);
      return c.json({ ...certificateView(row), certificatePem: row.certificate_pem }, 200);
    })
    .openapi({ ...renew, middleware: [guard('operator', 'certificates.renew')] }, async (c) => {
      const { id } = c.req.valid('param');
      noteAudit(c, { target: id });
      const current = await one(id);
      if (current.state === 'issuing') throw new ApiError(409, `certificate ${id} is being issued right now`);
      await db.updateTable('certificates').set({ next_attempt_at: sql<Date>`now()`, updated_at: sql<Date>`now()` }).where('id', '=', id).execute();
      return c.json(certificateView(await one(id)), 202);
    })
    .openapi({ ...revoke, middleware: [guard('operator', 'certificates.revoke')] }, async (c) => {
      const { id } = c.req.valid('param');
      // The body is optional: no body is reason unspecified.
      const reason = (c.req.valid('json') as { reason?: RevocationReason } | undefined)?.reason ?? 'unspecified';
      noteAudit(c, { target: id, detail: { reason } });
      const current = await one(id);
      if (current.state === 'revoked') throw new ApiError(409, `certificate ${id} is already revoked`);
      if (!current.certificate_pem) throw new ApiError(409, `certificate ${id} has not been issued yet: nothing to revoke (delete it instead)`);
      // Held like an issuance, so the scheduler cannot renew it while the CA is told.
      const held = await db
        .updateTable('certificates')
        .set({ lease_until: sql<Date>`now() + interval '5 minutes'` })
        .where('id', '=', id)
        .where('state', '!=', 'issuing')
        .where('state', '!=', 'revoked')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', sql<Date>`now()`)]))
        .executeTakeFirst();
      if (Number(held.numUpdatedRows) === 0) throw new ApiError(409, `certificate ${id} is being issued right now; try again when it is done`);
      const started = Date.now();
      try {
        const issuer = await certificateIssuerFor(deps, current);
        await issuer.revoke(current.certificate_pem, reason, AbortSignal.timeout(60_000));
      } catch (err) {
        await db.updateTable('certificates').set({ lease_until: null }).where('id', '=', id).execute();
        throw new ApiError(502, `revoking certificate ${id}: ${(err as Error).message}`);
      }
      await db
        .updateTable('certificates')
        .set({
          state: 'revoked',
          revoked_at: sql<Date>`now()`,
          revocation_reason: reason,
          next_attempt_at: null,
          renewal_check_at: null,
          lease_until: null,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .execute();
      deps.log.info({ certificateId: id, serial: current.serial, reason, ms: Date.now() - started }, 'certificate revoked');
      return c.json(certificateView(await one(id)), 200);
    })
    .openapi({ ...crl, middleware: [guard('viewer', 'certificates.crl')] }, async (c) => {
      const revoked = await db
        .selectFrom('certificates')
        .select(['serial', 'revoked_at', 'revocation_reason'])
        .where('state', '=', 'revoked')
        .where(sql<boolean>`issuer->>'kind' = 'internal'`)
        .where('serial', 'is not', null)
        .execute();
      const pem = await new InternalCa(deps.secrets).crl(
        revoked.map((r) => ({ serial: r.serial!, revokedAt: r.revoked_at!, reason: r.revocation_reason as RevocationReason })),
      );
      return c.body(pem, 200, { 'content-type': 'application/pkix-crl' });
    })
    .openapi({ ...remove, middleware: [guard('operator', 'certificates.delete')] }, async (c) => {
      const { id } = c.req.valid('param');
      noteAudit(c, { target: id });
      await one(id);
      // Not while an issuance runs: it would write its result into a row that is gone.
      const r = await db.deleteFrom('certificates').where('id', '=', id).where('state', '!=', 'issuing').executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw new ApiError(409, `certificate ${id} is being issued right now; try again when it is done`);
      return c.json({ id }, 200);
    });
}

export type CertificatesRoutes = ReturnType<typeof certificatesRoutes>;
