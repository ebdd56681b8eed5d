import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { parseSelector } from '../../api/parse-selector.js';
import { SelectorSchema } from '../../api/selector-schema.js';
import { toIso } from '../../api/to-iso.js';
import { CredentialRevoker } from '../../auth/credential-revoker.js';
import { AgentArtifacts } from './agent-artifacts.js';
import { agentsDb } from './agents-tables.js';
import { hostAuth, hostCaller } from './host-auth.js';
import { installScript } from './install-script.js';

const VersionQuery = z.object({
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'must be a version such as 1.2.0')
    .max(64)
    .optional()
    .openapi({ description: 'default: the version the hub wants the fleet on' }),
});

const CREDENTIALS =
  'Takes an API token (any role), an unused enrollment token (`Bearer kfe_…`, not consumed: all an installing host has) or an enrolled host’s signed request (`Authorization: KeyfleetHost …`).';

const ArtifactInfo = z
  .object({
    version: z.string(),
    sha256: z.string().openapi({ description: 'hex sha256 of the file, as the build wrote it; check every download against it' }),
    size: z.number().int(),
    wantedVersion: z
      .string()
      .nullable()
      .openapi({ description: 'the version the hub wants every agent on (KEYFLEET_AGENT_VERSION, else its newest artifact)' }),
    versions: z.array(z.string()).openapi({ description: 'every version this hub serves, newest first' }),
  })
  .openapi('AgentArtifact');

const artifact = createRoute({
  method: 'get',
  path: '/agent/artifact',
  summary: 'The agent artifact the hub serves: version, sha256, size, and the version it wants the fleet on',
  description: CREDENTIALS,
  request: { query: VersionQuery },
  responses: {
    200: { description: 'The artifact', content: { 'application/json': { schema: ArtifactInfo } } },
    ...errorResponses(404),
  },
});

const artifactFile = createRoute({
  method: 'get',
  path: '/agent/artifact/file',
  summary: 'The agent artifact itself: one .mjs file that needs only Node >= 20.19',
  description: `${CREDENTIALS} Check the download against the sha256 of GET /v1/agent/artifact (also in the X-Keyfleet-Agent-Sha256 header).`,
  request: { query: VersionQuery },
  responses: {
    200: { description: 'The file', content: { 'text/javascript': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errorResponses(404),
  },
});

const install = createRoute({
  method: 'get',
  path: '/agent/install.sh',
  summary: 'The installer bootstrap (POSIX sh) that `keyfleet tokens create --install` pipes into sh on a new host',
  description: 'No credentials: it holds no secret. It downloads the artifact with the enrollment token from the environment and checks its sha256.',
  security: [],
  responses: {
    200: { description: 'The script', content: { 'text/x-shellscript': { schema: z.string() } } },
  },
});

const HostSelf = z
  .object({
    hostId: z.string(),
    hostname: z.string(),
    status: z.enum(['pending', 'online', 'offline']),
    agentVersion: z.string().nullable(),
    lastHelloAt: z.string().nullable(),
    wantedVersion: z.string().nullable(),
  })
  .openapi('AgentHostSelf');

const self = createRoute({
  method: 'get',
  path: '/agent/self',
  summary: 'An enrolled host asks how the hub sees it (status, the agent version of its last hello)',
  description: 'Only an enrolled host’s signed request (`Authorization: KeyfleetHost …`), or an API token with ?hostId.',
  request: { query: z.object({ hostId: z.string().min(1).max(64).optional() }) },
  responses: {
    200: { description: 'The host', content: { 'application/json': { schema: HostSelf } } },
    ...errorResponses(404),
  },
});

const leave = createRoute({
  method: 'post',
  path: '/agent/leave',
  summary: 'An enrolled host leaves the fleet (uninstall): its NATS credential is revoked; it stays listed with its history',
  description: 'Only the host’s own signed request (`Authorization: KeyfleetHost …`). Idempotent.',
  responses: {
    200: {
      description: 'Revoked',
      content: {
        'application/json': {
          schema: z.object({ hostId: z.string(), credentialRevokedAt: z.string(), revocationEnforced: z.boolean() }).openapi('AgentLeft'),
        },
      },
    },
    ...errorResponses(403),
  },
});

const report = createRoute({
  method: 'post',
  path: '/agent/upgrade-report',
  summary: 'An upgraded host’s watchdog reports how the upgrade ended: upgraded, or rolled back and why',
  description: 'Only the host’s own signed request (`Authorization: KeyfleetHost …`).',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              attemptId: z.string().min(1).max(64),
              from: z.string().min(1).max(64),
              to: z.string().min(1).max(64),
              state: z.enum(['upgraded', 'rolled_back']),
              reason: z.string().max(2000).optional(),
              at: z.iso.datetime().optional(),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: { description: 'Stored', content: { 'application/json': { schema: z.object({ hostId: z.string(), state: z.string() }) } } },
    ...errorResponses(403),
  },
});

const Upgrade = z
  .object({
    from: z.string().nullable(),
    to: z.string(),
    state: z.enum(['restarting', 'upgraded', 'rolled_back', 'failed']),
    reason: z.string().nullable(),
    /** The task that started it (when its result arrived) and the attempt its output and the host's report name. */
    taskId: z.string().nullable(),
    attemptId: z.string().nullable(),
    deadlineAt: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('AgentUpgrade');

const upgrades = createRoute({
  method: 'get',
  path: '/agent/upgrades',
  summary: 'Each host’s agent version, the version the hub wants, and its last upgrade (in progress, done, rolled back and why, failed)',
  request: { query: z.object({ selector: SelectorSchema.optional() }) },
  responses: {
    200: {
      description: 'Hosts',
      content: {
        'application/json': {
          schema: z.object({
            wantedVersion: z.string().nullable(),
            items: z.array(
              z.object({
                hostId: z.string(),
                hostname: z.string(),
                status: z.enum(['pending', 'online', 'offline']),
                agentVersion: z.string().nullable(),
                upgrade: Upgrade.nullable(),
              }),
            ),
          }),
        },
      },
    },
    ...errorResponses(403),
  },
});

/** The agents feature's routes: artifacts, the installer, and what an enrolled host asks of the hub. */
export function agentsRoutes(deps: ApiDeps) {
  const { db, revoker } = deps;
  const guard = createGuard(db);
  const adb = agentsDb(db);
  const artifacts = AgentArtifacts.fromEnv();
  const anyCredential = (action: string) => hostAuth(db, action, ['host', 'enrollment']);
  return createRouter()
    .openapi({ ...artifact, middleware: [anyCredential('agent.artifact.get')] }, async (c) => {
      const { version } = c.req.valid('query');
      const [available, wanted] = await Promise.all([artifacts.list(), artifacts.wantedVersion()]);
      const a = available.find((x) => x.version === (version ?? wanted));
      if (!a) throw new ApiError(404, artifacts.describeMissing(version ?? wanted, available));
      return c.json({ version: a.version, sha256: a.sha256, size: a.size, wantedVersion: wanted ?? null, versions: available.map((x) => x.version) }, 200);
    })
    .openapi({ ...artifactFile, middleware: [anyCredential('agent.artifact.download')] }, async (c) => {
      const { version } = c.req.valid('query');
      const a = await artifacts.get(version);
      if (!a) throw new ApiError(404, artifacts.describeMissing(version ?? (await artifacts.wantedVersion()), await artifacts.list()));
      // Streamed: a fleet upgrade fans one 3 MB file out to many hosts at once.
      const body = Readable.toWeb(createReadStream(a.file)) as ReadableStream;
      return c.body(body, 200, {
        'Content-Type': 'text/javascript; charset=utf-8',
        'Content-Length': String(a.size),
        'Content-Disposition': `attachment; filename="keyfleet-agent-${a.version}.mjs"`,
        'X-Keyfleet-Agent-Version': a.version,
        'X-Keyfleet-Agent-Sha256': a.sha256,
      });
    })
    .openapi(install, (c) => c.body(installScript(), 200, { 'Content-Type': 'text/x-shellscript; charset=utf-8', 'Cache-Control': 'no-store' }))
    .openapi({ ...self, middleware: [hostAuth(db, 'agent.self', ['host'])] }, async (c) => {
      const asked = c.req.valid('query').hostId;
      const caller = c.get('actor')?.label.startsWith('host:') ? hostCaller(c).id : asked;
      if (!caller) throw new ApiError(400, 'invalid query: hostId: required with an API token');
      const h = await db.selectFrom('hosts').select(['id', 'hostname', 'status', 'agent_version', 'last_hello_at']).where('id', '=', caller).executeTakeFirst();
      if (!h) throw new ApiError(404, `host ${caller} not found`);
      return c.json(
        {
          hostId: h.id,
          hostname: h.hostname,
          status: h.status,
          agentVersion: h.agent_version,
          lastHelloAt: h.last_hello_at ? h.last_hello_at.toISOString() : null,
          wantedVersion: (await artifacts.wantedVersion()) ?? null,
        },
        200,
      );
    })
    .openapi({ ...leave, middleware: [hostAuth(db, 'agent.leave', ['host'])] }, async (c) => {
      if (!c.get('actor')?.label.startsWith('host:'))
        throw new ApiError(403, 'forbidden: only the host itself leaves; an operator revokes with POST /v1/hosts/{id}/revoke');
      const host = hostCaller(c);
      noteAudit(c, { target: host.id });
      const revokedAt = await CredentialRevoker.record(db, host, 'revoked', `host:${host.id} (uninstalled)`);
      const revocationEnforced = await revoker.publish();
      noteAudit(c, { detail: { hostname: host.hostname, revocationEnforced } });
      return c.json({ hostId: host.id, credentialRevokedAt: revokedAt.toISOString(), revocationEnforced }, 200);
    })
    .openapi({ ...report, middleware: [hostAuth(db, 'agent.upgrade-report', ['host'])] }, async (c) => {
      if (!c.get('actor')?.label.startsWith('host:')) throw new ApiError(403, 'forbidden: only the upgraded host reports its upgrade');
      const host = hostCaller(c);
      const body = c.req.valid('json');
      noteAudit(c, { target: host.id, detail: { from: body.from, to: body.to, state: body.state } });
      // The host knows best: its report wins over whatever the task result said.
      await adb
        .insertInto('agent_upgrades')
        .values({
          host_id: host.id,
          attempt_id: body.attemptId,
          from_version: body.from,
          to_version: body.to,
          state: body.state,
          reason: body.reason ?? null,
          updated_at: sql<Date>`now()`,
        })
        .onConflict((oc) =>
          oc.column('host_id').doUpdateSet((eb) => ({
            attempt_id: eb.ref('excluded.attempt_id'),
            from_version: eb.ref('excluded.from_version'),
            to_version: eb.ref('excluded.to_version'),
            state: eb.ref('excluded.state'),
            reason: eb.ref('excluded.reason'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
      return c.json({ hostId: host.id, state: body.state }, 200);
    })
    .openapi({ ...upgrades, middleware: [guard('viewer', 'agent.upgrades.list')] }, async (c) => {
      const { selector } = c.req.valid('query');
      let q = adb
        .selectFrom('hosts')
        .leftJoin('agent_upgrades', 'agent_upgrades.host_id', 'hosts.id')
        .select([
          'hosts.id',
          'hosts.hostname',
          'hosts.status',
          'hosts.agent_version',
          'agent_upgrades.from_version',
          'agent_upgrades.to_version',
          'agent_upgrades.state',
          'agent_upgrades.reason',
          'agent_upgrades.task_id',
          'agent_upgrades.attempt_id',
          'agent_upgrades.deadline_at',
          'agent_upgrades.updated_at',
        ])
        .orderBy('hosts.hostname')
        .orderBy('hosts.id');
      if (selector) q = q.where(sql<boolean>`hosts.labels @> ${JSON.stringify(parseSelector(selector))}::jsonb`);
      const rows = await q.execute();
      return c.json(
        {
          wantedVersion: (await artifacts.wantedVersion()) ?? null,
          items: rows.map((r) => ({
            hostId: r.id,
            hostname: r.hostname,
            status: r.status,
            agentVersion: r.agent_version,
            upgrade:
              r.to_version && r.state && r.updated_at
                ? {
                    from: r.from_version,
                    to: r.to_version,
                    state: r.state,
                    reason: r.reason,
                    taskId: r.task_id,
                    attemptId: r.attempt_id,
                    deadlineAt: toIso(r.deadline_at),
                    updatedAt: r.updated_at.toISOString(),
                  }
                : null,
          })),
        },
        200,
      );
    });
}

export type AgentsRoutes = ReturnType<typeof agentsRoutes>;
