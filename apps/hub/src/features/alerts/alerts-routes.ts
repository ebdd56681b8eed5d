import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { type Selectable, sql } from 'kysely';
import type { ApiDeps } from '../../api/api-deps.js';
import { ApiError } from '../../api/api-error.js';
import { createGuard } from '../../api/create-guard.js';
import { createRouter } from '../../api/create-router.js';
import { errorResponses } from '../../api/error-responses.js';
import { noteAudit } from '../../api/note-audit.js';
import { alertChannelInput, channelConfig, channelSecrets, channelTarget } from './alert-channel.js';
import { alertRuleInput, duration } from './alert-rule.js';
import { type AlertsTables, alertsDb } from './alerts-tables.js';
import { notifyChannel } from './notify-channel.js';
import { RULE_TEST_HISTORY_SEC, testRule } from './test-rule.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const body = <T extends z.ZodType>(schema: T) => ({ body: { required: true, content: { 'application/json': { schema } } } });
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

const AlertSchema = z
  .object({
    id: z.string(),
    rule: z.string(),
    hostId: z.string(),
    hostname: z.string(),
    labels: z.record(z.string(), z.string()),
    severity: z.string(),
    state: z.enum(['pending', 'firing', 'resolved']),
    value: z.number().nullable(),
    summary: z.string(),
    startedAt: z.string(),
    firedAt: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    ackedAt: z.string().nullable(),
    ackedBy: z.string().nullable(),
    ackNote: z.string().nullable(),
  })
  .openapi('Alert');
const RuleView = z
  .object({
    name: z.string(),
    version: z.number(),
    builtin: z.boolean(),
    updatedAt: z.string(),
    updatedBy: z.string(),
    spec: z.record(z.string(), z.unknown()),
  })
  .openapi('AlertRuleView');
const ChannelView = z
  .object({
    name: z.string(),
    kind: z.enum(['webhook', 'slack', 'email']),
    target: z.string().openapi({ description: 'Where it sends: a URL, or recipients and server; never a secret' }),
    secrets: z.array(z.string()).openapi({ description: 'Names of the hub secrets it uses' }),
    config: z.record(z.string(), z.unknown()).openapi({ description: 'Its settings as applied (secrets by name only)' }),
    lastError: z.string().nullable(),
    lastErrorAt: z.string().nullable(),
    lastSentAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('AlertChannel');
const NotificationView = z
  .object({
    id: z.string(),
    alertId: z.string(),
    transition: z.string(),
    channel: z.string(),
    state: z.string(),
    attempts: z.number(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
  })
  .openapi('AlertNotification');
const SilenceInput = z
  .object({
    matchers: z.record(z.string().max(63), z.string().max(253)).refine((m) => Object.keys(m).length > 0, 'at least one matcher'),
    comment: z.string().min(1).max(1000),
    duration: duration.openapi({ type: 'string', example: '2h' }),
  })
  .strict()
  .openapi('SilenceInput');
const SilenceView = z
  .object({ id: z.string(), matchers: z.record(z.string(), z.string()), comment: z.string(), expiresAt: z.string(), createdBy: z.string() })
  .openapi('Silence');
const RuleTestInput = z
  .object({
    rule: alertRuleInput.optional().openapi({ description: 'A rule to try (not stored)' }),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes')
      .optional()
      .openapi({ description: 'A stored rule to try, by name' }),
    host: z.string().min(1).max(253).optional().openapi({ description: 'Only this host (id or hostname)' }),
  })
  .strict()
  .refine((b) => (b.rule ? 1 : 0) + (b.name ? 1 : 0) === 1, { message: 'give either rule or name', path: ['rule'] })
  .openapi('AlertRuleTestInput');
const RuleTestView = z
  .object({
    rule: z.string(),
    for: z.number().openapi({ description: 'Seconds a breach must hold before the rule fires' }),
    evaluatedAt: z.string(),
    since: z.string().openapi({ description: 'Start of the replayed hour (it ends at evaluatedAt)' }),
    hosts: z.array(
      z.object({
        hostId: z.string(),
        hostname: z.string(),
        wouldFire: z.boolean(),
        observations: z.array(z.object({ labels: z.record(z.string(), z.string()), value: z.number(), active: z.boolean(), reason: z.string() })),
        note: z.string().optional(),
        intervals: z
          .array(
            z.object({
              labels: z.record(z.string(), z.string()),
              state: z.enum(['pending', 'firing']),
              from: z.string(),
              to: z.string().nullable().openapi({ description: 'null: still pending or firing at the end of the hour' }),
              value: z.number().openapi({ description: 'The worst value while it was open' }),
            }),
          )
          .openapi({ description: 'What the rule would have done over the last hour, oldest first' }),
      }),
    ),
  })
  .openapi('AlertRuleTest');
const Name = z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes') });

const routes = {
  list: createRoute({
    method: 'get',
    path: '/alerts',
    summary: 'Alerts: open ones (pending and firing) by default',
    request: { query: z.object({ state: z.enum(['open', 'pending', 'firing', 'resolved', 'all']).default('open') }) },
    responses: { 200: json(z.object({ items: z.array(AlertSchema) }), 'Alerts'), ...errorResponses(400, 401, 403) },
  }),
  get: createRoute({
    method: 'get',
    path: '/alerts/{id}',
    summary: 'One alert (where notifications link to)',
    request: { params: z.object({ id: z.string().max(64) }) },
    responses: { 200: json(AlertSchema, 'The alert'), ...errorResponses(400, 401, 403, 404) },
  }),
  ack: createRoute({
    method: 'post',
    path: '/alerts/{id}/ack',
    summary: 'Acknowledge an alert: who and why are kept with it and in the audit trail',
    request: { params: z.object({ id: z.string().max(64) }), ...body(z.object({ note: z.string().max(1000).default('') }).strict()) },
    responses: { 200: json(AlertSchema, 'Acknowledged'), ...errorResponses(400, 401, 403, 404) },
  }),
  rules: createRoute({
    method: 'get',
    path: '/alert-rules',
    summary: 'Alert rules, built-in and applied, at their current version',
    responses: { 200: json(z.object({ items: z.array(RuleView) }), 'Rules'), ...errorResponses(401, 403) },
  }),
  applyRule: createRoute({
    method: 'put',
    path: '/alert-rules/{name}',
    summary: 'Create or replace a rule (a new version); a built-in rule of that name is overridden',
    request: { params: Name, ...body(alertRuleInput) },
    responses: { 200: json(RuleView, 'Applied'), ...errorResponses(400, 401, 403) },
  }),
  testRule: createRoute({
    method: 'post',
    path: '/alert-rules/test',
    summary:
      'Evaluate a rule (given, or stored by name) against the fleet’s data: which hosts would fire now and why, and when over the last hour each would have been pending or firing; nothing is stored or notified',
    request: body(RuleTestInput),
    responses: { 200: json(RuleTestView, 'What the rule sees'), ...errorResponses(400, 401, 403, 404) },
  }),
  channels: createRoute({
    method: 'get',
    path: '/channels',
    summary: 'Notification channels',
    responses: { 200: json(z.object({ items: z.array(ChannelView) }), 'Channels'), ...errorResponses(401, 403) },
  }),
  putChannel: createRoute({
    method: 'put',
    path: '/channels/{name}',
    summary: 'Create or replace a channel (webhook, Slack or email); its secrets are hub secrets named here, never stored in the channel',
    request: { params: Name, ...body(alertChannelInput) },
    responses: { 200: json(ChannelView, 'Stored'), ...errorResponses(400, 401, 403) },
  }),
  deleteChannel: createRoute({
    method: 'delete',
    path: '/channels/{name}',
    summary: 'Delete a channel; notifications still queued for it fail naming it',
    request: { params: Name },
    responses: { 200: json(ChannelView, 'Deleted'), ...errorResponses(400, 401, 403, 404) },
  }),
  testChannel: createRoute({
    method: 'post',
    path: '/channels/{name}/test',
    summary: 'Send a test notification now and say whether the channel accepted it',
    request: { params: Name },
    responses: { 200: json(z.object({ ok: z.boolean(), error: z.string().optional() }), 'Outcome'), ...errorResponses(400, 401, 403, 404) },
  }),
  notifications: createRoute({
    method: 'get',
    path: '/alert-notifications',
    summary: 'The delivery log: each notification, its attempts and last error',
    request: { query: z.object({ alert: z.string().max(64).optional() }) },
    responses: { 200: json(z.object({ items: z.array(NotificationView) }), 'Deliveries'), ...errorResponses(400, 401, 403) },
  }),
  silence: createRoute({
    method: 'post',
    path: '/silences',
    summary: 'Silence notifications of alerts whose labels (and rule, host, hostname, severity) match, for a duration',
    request: body(SilenceInput),
    responses: { 201: json(SilenceView, 'Silence'), ...errorResponses(400, 401, 403) },
  }),
  silences: createRoute({
    method: 'get',
    path: '/silences',
    summary: 'Silences that have not expired',
    responses: { 200: json(z.object({ items: z.array(SilenceView) }), 'Silences'), ...errorResponses(401, 403) },
  }),
};

/** The alerts API under /v1; its type gives the CLI a typed client of just these. */
export function alertsRoutes({ db: coreDb, secrets }: ApiDeps) {
  const guard = createGuard(coreDb);
  const db = alertsDb(coreDb);
  const alerts = () =>
    db
      .selectFrom('alerts')
      .innerJoin('hosts', 'hosts.id', 'alerts.host_id')
      .selectAll('alerts')
      .select('hosts.hostname')
      .orderBy('alerts.started_at', 'desc')
      .limit(1000);
  type AlertRow = Awaited<ReturnType<ReturnType<typeof alerts>['executeTakeFirstOrThrow']>>;
  const alertView = (a: AlertRow) => ({
    id: a.id,
    rule: a.rule,
    hostId: a.host_id,
    hostname: a.hostname,
    labels: a.labels,
    severity: a.severity,
    state: a.state,
    value: a.value,
    summary: a.summary,
    startedAt: iso(a.started_at)!,
    firedAt: iso(a.fired_at),
    resolvedAt: iso(a.resolved_at),
    ackedAt: iso(a.acked_at),
    ackedBy: a.acked_by,
    ackNote: a.ack_note,
  });
  const ruleView = (r: { name: string; version: number; builtin: boolean; updated_at: Date; updated_by: string; spec: unknown }) => ({
    name: r.name,
    version: r.version,
    builtin: r.builtin,
    updatedAt: iso(r.updated_at)!,
    updatedBy: r.updated_by,
    spec: r.spec as Record<string, unknown>,
  });
  const channelView = (c: Selectable<AlertsTables['alert_channels']>) => {
    const config = channelConfig(c);
    return {
      name: c.name,
      kind: c.kind,
      target: channelTarget(config),
      secrets: channelSecrets(config),
      config,
      lastError: c.last_error,
      lastErrorAt: iso(c.last_error_at),
      lastSentAt: iso(c.last_sent_at),
      createdAt: iso(c.created_at)!,
    };
  };
  const actor = (c: { get(k: 'actor'): { label: string } | undefined }) => c.get('actor')?.label ?? 'unknown';

  return createRouter()
    .openapi({ ...routes.list, middleware: [guard('viewer', 'alerts.list')] }, async (c) => {
      const { state } = c.req.valid('query');
      let q = alerts();
      if (state === 'open') q = q.where('alerts.state', 'in', ['pending', 'firing']);
      else if (state !== 'all') q = q.where('alerts.state', '=', state);
      return c.json({ items: (await q.execute()).map(alertView) }, 200);
    })
    .openapi({ ...routes.get, middleware: [guard('viewer', 'alerts.get')] }, async (c) => {
      const { id } = c.req.valid('param');
      const a = await alerts().where('alerts.id', '=', id).executeTakeFirst();
      if (!a) throw new ApiError(404, `alert ${id} not found`);
      return c.json(alertView(a), 200);
    })
    .openapi({ ...routes.ack, middleware: [guard('operator', 'alerts.ack')] }, async (c) => {
      const { id } = c.req.valid('param');
      const { note } = c.req.valid('json');
      noteAudit(c, { target: id, detail: { note } });
      const done = await db
        .updateTable('alerts')
        .set({ acked_at: new Date(), acked_by: actor(c), ack_note: note })
        .where('id', '=', id)
        .returning('id')
        .executeTakeFirst();
      if (!done) throw new ApiError(404, `alert ${id} not found`);
      return c.json(alertView(await alerts().where('alerts.id', '=', id).executeTakeFirstOrThrow()), 200);
    })
    .openapi({ ...routes.rules, middleware: [guard('viewer', 'alert-rules.list')] }, async (c) => {
      const rows = await db.selectFrom('alert_rules').selectAll().orderBy('name').execute();
      return c.json({ items: rows.map(ruleView) }, 200);
    })
    .openapi({ ...routes.applyRule, middleware: [guard('operator', 'alert-rules.apply')] }, async (c) => {
      const { name } = c.req.valid('param');
      const rule = c.req.valid('json');
      if (rule.name !== name) throw new ApiError(400, `invalid body: name: ${rule.name} differs from the path's ${name}`);
      noteAudit(c, { target: name });
      const by = actor(c);
      const row = await db.transaction().execute(async (trx) => {
        const stored = await trx
          .insertInto('alert_rules')
          .values({ name, version: 1, spec: JSON.stringify(rule), builtin: false, updated_by: by })
          .onConflict((oc) =>
            oc
              .column('name')
              .doUpdateSet({ version: sql`alert_rules.version + 1`, spec: JSON.stringify(rule), builtin: false, updated_at: new Date(), updated_by: by }),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('alert_rule_versions')
          .values({ name, version: stored.version, spec: JSON.stringify(rule), applied_by: by })
          .execute();
        return stored;
      });
      return c.json(ruleView(row), 200);
    })
    .openapi({ ...routes.testRule, middleware: [guard('viewer', 'alert-rules.test')] }, async (c) => {
      const input = c.req.valid('json');
      let rule = input.rule;
      if (!rule) {
        const stored = await db.selectFrom('alert_rules').select('spec').where('name', '=', input.name!).executeTakeFirst();
        if (!stored) throw new ApiError(404, `alert rule ${input.name} not found`);
        rule = stored.spec;
      }
      let hostIds: Set<string> | undefined;
      if (input.host) {
        const hosts = await db
          .selectFrom('hosts')
          .select('id')
          .where((eb) => eb.or([eb('id', '=', input.host!), eb('hostname', '=', input.host!)]))
          .execute();
        if (hosts.length === 0) throw new ApiError(404, `host ${input.host} not found`);
        hostIds = new Set(hosts.map((h) => h.id));
      }
      const now = new Date();
      const since = new Date(now.getTime() - RULE_TEST_HISTORY_SEC * 1000).toISOString();
      return c.json({ rule: rule.name, for: rule.for, evaluatedAt: now.toISOString(), since, hosts: await testRule(db, rule, hostIds, now) }, 200);
    })
    .openapi({ ...routes.channels, middleware: [guard('viewer', 'channels.list')] }, async (c) => {
      const rows = await db.selectFrom('alert_channels').selectAll().orderBy('name').execute();
      return c.json({ items: rows.map(channelView) }, 200);
    })
    .openapi({ ...routes.putChannel, middleware: [guard('admin', 'channels.put')] }, async (c) => {
      const { name } = c.req.valid('param');
      const input = c.req.valid('json');
      noteAudit(c, { target: name, detail: { kind: input.kind, target: channelTarget(input) } });
      const config = JSON.stringify(input);
      const row = await db
        .insertInto('alert_channels')
        .values({ name, kind: input.kind, config, created_by: actor(c) })
        .onConflict((oc) => oc.column('name').doUpdateSet({ kind: input.kind, config }))
        .returningAll()
        .executeTakeFirstOrThrow();
      return c.json(channelView(row), 200);
    })
    .openapi({ ...routes.deleteChannel, middleware: [guard('admin', 'channels.delete')] }, async (c) => {
      const { name } = c.req.valid('param');
      noteAudit(c, { target: name });
      const gone = await db.deleteFrom('alert_channels').where('name', '=', name).returningAll().executeTakeFirst();
      if (!gone) throw new ApiError(404, `channel ${name} not found`);
      return c.json(channelView(gone), 200);
    })
    .openapi({ ...routes.testChannel, middleware: [guard('operator', 'channels.test')] }, async (c) => {
      const { name } = c.req.valid('param');
      const channel = await db.selectFrom('alert_channels').selectAll().where('name', '=', name).executeTakeFirst();
      if (!channel) throw new ApiError(404, `channel ${name} not found`);
      try {
        await notifyChannel(secrets, channelConfig(channel), { kind: 'test', channel: name });
        return c.json({ ok: true }, 200);
      } catch (err) {
        return c.json({ ok: false, error: (err as Error).message }, 200);
      }
    })
    .openapi({ ...routes.notifications, middleware: [guard('viewer', 'alert-notifications.list')] }, async (c) => {
      const { alert } = c.req.valid('query');
      let q = db.selectFrom('alert_notifications').selectAll().orderBy('created_at', 'desc').limit(1000);
      if (alert) q = q.where('alert_id', '=', alert);
      const rows = await q.execute();
      return c.json(
        {
          items: rows.map((n) => ({
            id: n.id,
            alertId: n.alert_id,
            transition: n.transition,
            channel: n.channel,
            state: n.state,
            attempts: n.attempts,
            lastError: n.last_error,
            createdAt: iso(n.created_at)!,
            sentAt: iso(n.sent_at),
          })),
        },
        200,
      );
    })
    .openapi({ ...routes.silence, middleware: [guard('operator', 'silences.create')] }, async (c) => {
      const input = c.req.valid('json');
      const id = `sil_${randomBytes(8).toString('hex')}`;
      noteAudit(c, { target: id, detail: { matchers: input.matchers, comment: input.comment } });
      const row = await db
        .insertInto('alert_silences')
        .values({
          id,
          matchers: JSON.stringify(input.matchers),
          comment: input.comment,
          expires_at: new Date(Date.now() + input.duration * 1000),
          created_by: actor(c),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return c.json({ id, matchers: row.matchers, comment: row.comment, expiresAt: iso(row.expires_at)!, createdBy: row.created_by }, 201);
    })
    .openapi({ ...routes.silences, middleware: [guard('viewer', 'silences.list')] }, async (c) => {
      const rows = await db.selectFrom('alert_silences').selectAll().where('expires_at', '>', new Date()).orderBy('expires_at').execute();
      return c.json(
        { items: rows.map((s) => ({ id: s.id, matchers: s.matchers, comment: s.comment, expiresAt: iso(s.expires_at)!, createdBy: s.created_by })) },
        200,
      );
    });
}

export type AlertsRoutes = ReturnType<typeof alertsRoutes>;
