import { bytesText, preUpdateBackupTarget } from '@keyfleet/proto/v1';
import type { TaskContext } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { hubRefusal, hubRequest } from '../agents/index.js';
import type { KeycloakInstanceRecord } from '../keycloak/index.js';
import { backupRun } from './backup-run.js';

/**
 * The backup unit a Keycloak version upgrade takes first, while the old version serves: the
 * same stream as backup.run (encrypted to the fleet's recipients, nothing plaintext on disk),
 * into a catalog entry the hub opens for this host on its signed request. It is the operator's
 * way back to the old version on any host, long after the upgrade; no recipient, no upgrade.
 */
export async function preUpdateBackup(record: KeycloakInstanceRecord, toVersion: string, ctx: TaskContext): Promise<{ backupId?: string; detail: string }> {
  if (record.config.database.kind === 'dev-file') {
    return { detail: 'the dev-file database (H2) cannot be backed up; the upgrade has no way back to the old data' };
  }
  const res = await hubRequest(ctx.stateDir, '/v1/agent/pre-update-backups', {
    method: 'POST',
    json: { fromVersion: record.version, toVersion },
    signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(30_000)]),
  });
  if (!res.ok) {
    throw new TaskFailure(res.status === 409 ? 'invalid_input' : 'handler_error', `the pre-update backup could not start: ${await hubRefusal(res)}`);
  }
  const target = preUpdateBackupTarget.parse(await res.json());
  const stored = await backupRun(
    {
      backupId: target.backupId,
      recipients: target.recipients,
      // Never stored: the token lives in this call only, as a resolved secret reference would.
      upload: { url: target.upload.url, mode: target.upload.mode, token: { $secret: 'pre-update-upload', value: target.upload.token } },
    },
    ctx,
  );
  return {
    backupId: stored.backupId,
    detail: `${stored.backupId} stored: ${bytesText(stored.sizeBytes)} encrypted (dump ${bytesText(stored.dumpBytes)}) in ${(stored.durationMs / 1000).toFixed(1)}s`,
  };
}
