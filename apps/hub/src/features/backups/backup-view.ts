import { z } from '@hono/zod-openapi';
import type { Selectable } from 'kysely';
import { toIso } from '../../api/to-iso.js';
import type { BackupsTable } from './backups-tables.js';

export const BackupSchema = z
  .object({
    id: z.string(),
    hostId: z.string(),
    taskId: z.string().nullable(),
    scheduleId: z.string().nullable(),
    state: z.enum(['running', 'stored', 'verified', 'failed', 'pruned']),
    error: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    sizeBytes: z.number().nullable(),
    sha256: z.string().nullable(),
    recipients: z.array(z.object({ keyId: z.string(), name: z.string(), recipient: z.string() })),
    keycloakVersion: z.string().nullable(),
    storage: z.enum(['local', 's3']),
    lastDrill: z
      .object({
        ok: z.boolean(),
        taskId: z.string(),
        hostId: z.string(),
        at: z.string(),
        restoreMs: z.number().optional(),
        checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })).optional(),
        error: z.string().optional(),
      })
      .nullable(),
    verifiedAt: z.string().nullable(),
  })
  .openapi('Backup');

export const BackupDetailSchema = BackupSchema.extend({
  manifest: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'the manifest of the backup unit (also its last tar entry)' }),
}).openapi('BackupDetail');

const num = (v: string | null) => (v === null ? null : Number(v));

export function backupView(r: Selectable<BackupsTable>) {
  return {
    id: r.id,
    hostId: r.host_id,
    taskId: r.task_id,
    scheduleId: r.schedule_id,
    state: r.state,
    error: r.error,
    startedAt: toIso(r.started_at),
    finishedAt: toIso(r.finished_at),
    sizeBytes: num(r.size_bytes),
    sha256: r.sha256,
    recipients: r.recipients,
    keycloakVersion: r.keycloak_version,
    storage: r.storage_kind,
    lastDrill: r.last_drill,
    verifiedAt: toIso(r.verified_at),
  };
}

export function backupDetailView(r: Selectable<BackupsTable>) {
  return { ...backupView(r), manifest: r.manifest as Record<string, unknown> | null };
}
