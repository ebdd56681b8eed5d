import { z } from 'zod';
import { ids } from './ids.js';
import { PROTO_VERSION } from './subjects.js';

/** Fields every message carries, whatever its kind. */
const base = {
  proto: z.literal(PROTO_VERSION),
  msgId: ids.message,
  sentAt: z.iso.datetime(),
};

const labels = z.record(z.string().regex(/^[a-zA-Z0-9._/-]{1,63}$/), z.string().max(253));

export const hello = z.object({
  ...base,
  kind: z.literal('hello'),
  hostId: ids.host,
  hostname: z.string().max(253),
  agentVersion: z.string().max(64),
  taskTypes: z.array(z.string().max(128)).max(1000),
  labels,
  heartbeatIntervalMs: z.number().int().positive(),
  maxConcurrency: z.number().int().positive(),
});

export const welcome = z.object({
  ...base,
  kind: z.literal('welcome'),
  hubVersion: z.string().max(64),
});

export const heartbeat = z.object({
  ...base,
  kind: z.literal('heartbeat'),
  hostId: ids.host,
  uptimeSec: z.number().nonnegative(),
  cpuPercent: z.number().min(0).max(100),
  load: z.tuple([z.number(), z.number(), z.number()]),
  memory: z.object({ totalBytes: z.number().nonnegative(), usedBytes: z.number().nonnegative() }),
  disks: z.array(z.object({ mount: z.string(), sizeBytes: z.number().nonnegative(), usedBytes: z.number().nonnegative() })).max(256),
  runningTasks: z.number().int().nonnegative(),
});

export const task = z.object({
  ...base,
  kind: z.literal('task'),
  taskId: ids.task,
  type: z.string().max(128),
  params: z.unknown(),
  timeoutMs: z.number().int().positive(),
  /** The hub gives up on the task at this instant; an agent must not start it later. */
  expiresAt: z.iso.datetime(),
});

export const taskReply = z.object({
  ...base,
  kind: z.literal('task.reply'),
  taskId: ids.task,
  /** accepted: will run or is running; duplicate: seen before (result re-sent); rejected: will never run. */
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  reason: z.string().max(2000).optional(),
});

export const cancel = z.object({
  ...base,
  kind: z.literal('cancel'),
  taskId: ids.task,
  reason: z.string().max(500),
});

export const cancelReply = z.object({
  ...base,
  kind: z.literal('cancel.reply'),
  taskId: ids.task,
  /** false when the agent has no running task with that id (never seen or already finished). */
  found: z.boolean(),
});

export const progress = z.object({
  ...base,
  kind: z.literal('progress'),
  hostId: ids.host,
  taskId: ids.task,
  /** `started` is sent once when execution begins; `progress` any number of times after. */
  stage: z.enum(['started', 'progress']),
  percent: z.number().min(0).max(100).optional(),
  message: z.string().max(2000).optional(),
  /** Bytes moved so far by a task that streams data (a backup's dump, a restore's), for bars and throughput. */
  bytes: z.number().int().nonnegative().optional(),
  /** The bytes `bytes` counts towards, when known (a restore knows its dump's size; a backup does not). */
  totalBytes: z.number().int().nonnegative().optional(),
  at: z.iso.datetime(),
});

export const taskError = z.object({
  code: z.enum(['invalid_input', 'timeout', 'cancelled', 'handler_error', 'interrupted', 'expired', 'unknown_type']),
  message: z.string().max(4000),
});

export const result = z.object({
  ...base,
  kind: z.literal('result'),
  hostId: ids.host,
  taskId: ids.task,
  outcome: z.enum(['succeeded', 'failed', 'cancelled']),
  output: z.unknown().optional(),
  error: taskError.optional(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime(),
});

export const ack = z.object({
  ...base,
  kind: z.literal('ack'),
  taskId: ids.task,
});

/** A reply that refuses a message, with the reason; sent instead of silence. */
export const rejection = z.object({
  ...base,
  kind: z.literal('rejection'),
  reason: z.string().max(2000),
  /**
   * Set when retrying cannot help. `revoked`: the host was decommissioned or its credential
   * revoked; the agent stops instead of saying hello again.
   */
  code: z.enum(['revoked']).optional(),
});

/**
 * One metric sample of a host: every series at one instant, keyed by its Prometheus-style name
 * with labels (`kf_host_disk_used_bytes{mount="/"}`). Fire and forget: a lost sample is a gap.
 */
export const metrics = z.object({
  ...base,
  kind: z.literal('metrics'),
  hostId: ids.host,
  at: z.iso.datetime(),
  /** Seconds between samples, so the hub knows when one is missing. */
  intervalSec: z.number().positive().max(86_400),
  /** Names ending in `_total` are counters (the Prometheus convention); every other series is a gauge. */
  series: z.record(z.string().min(1).max(300), z.number()).refine((s) => Object.keys(s).length <= 2000, 'at most 2000 series'),
});

const text = (max: number) => z.string().max(max);

/**
 * One event a host's Keycloak recorded: a login event (`source: login`, e.g. LOGIN_ERROR) or an
 * admin event (`source: admin`, e.g. CREATE on users/…). Never the admin event's representation
 * nor any detail that could hold a credential: the agent leaves those out.
 */
export const keycloakEvent = z.object({
  source: z.enum(['login', 'admin']),
  /** Keycloak's own event id: the hub stores an event once however often it arrives. */
  id: text(100).min(1),
  realm: text(255),
  at: z.iso.datetime(),
  /** Login: the event type (LOGIN_ERROR); admin: operation and resource type (CREATE USER). */
  type: text(200),
  /** Who: the user's name where Keycloak knows it (`alice`, `admin@master` for an admin), else its id. */
  actor: text(300).optional(),
  clientId: text(255).optional(),
  ip: text(100).optional(),
  error: text(200).optional(),
  /** Admin events: what was changed (`users/8f…`). */
  resource: text(1000).optional(),
  details: z
    .record(text(100), text(1000))
    .refine((d) => Object.keys(d).length <= 30, 'at most 30 details')
    .optional(),
});

/**
 * A batch of Keycloak events, sent as a request: the agent moves past them only once the hub's
 * `eventsAck` says they are stored, so a lost batch is sent again and never missed.
 */
export const keycloakEvents = z.object({
  ...base,
  kind: z.literal('keycloak-events'),
  hostId: ids.host,
  events: z.array(keycloakEvent).min(1).max(500),
});

export const eventsAck = z.object({
  ...base,
  kind: z.literal('events.ack'),
  /** How many of the batch were new (the rest the hub already had). */
  stored: z.number().int().min(0),
});

/** One line of a host's log, as the agent read it (secrets redacted before it leaves the host). */
export const logLine = z.object({
  /** Which log: Keycloak's (`keycloak`) or the agent's own (`agent`). */
  source: z.enum(['keycloak', 'agent']),
  /** The file and its inode (`keycloak-a.log:1234`): with `pos`, a line's identity, so a batch sent again stores nothing twice. */
  stream: text(200).min(1),
  /** Byte offset of the line in that file. */
  pos: z.number().int().min(0),
  /** When the agent read the line. */
  at: z.iso.datetime(),
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
  line: text(8192),
});

/**
 * A batch of log lines, sent as a request: the agent persists its place in each file only once
 * the hub's `logsAck` says they are stored. `dropped` counts lines the agent could not queue.
 */
export const logLines = z.object({
  ...base,
  kind: z.literal('log-lines'),
  hostId: ids.host,
  lines: z.array(logLine).max(1000),
  dropped: z.number().int().min(0),
});

export const logsAck = z.object({
  ...base,
  kind: z.literal('logs.ack'),
  /** How many of the batch were new (the rest the hub already had). */
  stored: z.number().int().min(0),
});

export const messages = {
  hello,
  welcome,
  heartbeat,
  task,
  taskReply,
  cancel,
  cancelReply,
  progress,
  result,
  ack,
  rejection,
  metrics,
  keycloakEvents,
  eventsAck,
  logLines,
  logsAck,
} as const;

export type Hello = z.infer<typeof hello>;
export type Welcome = z.infer<typeof welcome>;
export type Heartbeat = z.infer<typeof heartbeat>;
export type Task = z.infer<typeof task>;
export type TaskReply = z.infer<typeof taskReply>;
export type Cancel = z.infer<typeof cancel>;
export type CancelReply = z.infer<typeof cancelReply>;
export type Progress = z.infer<typeof progress>;
export type Result = z.infer<typeof result>;
export type TaskError = z.infer<typeof taskError>;
export type Ack = z.infer<typeof ack>;
export type Rejection = z.infer<typeof rejection>;
export type Metrics = z.infer<typeof metrics>;
export type KeycloakEvent = z.infer<typeof keycloakEvent>;
export type KeycloakEvents = z.infer<typeof keycloakEvents>;
export type EventsAck = z.infer<typeof eventsAck>;
export type LogLine = z.infer<typeof logLine>;
export type LogLines = z.infer<typeof logLines>;
export type LogsAck = z.infer<typeof logsAck>;
