import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@keyfleet/log';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../testing/test-context.js';
import type { BackupsRoutes } from './index.js';
import { settleDrillExport } from './settle-drill-export.js';
import { LocalDirStorage } from './storage/local-dir-storage.js';
import { sweepBackupExports } from './sweep-backup-exports.js';

/**
 * A drill's realm export through the hub: fail closed without recipients; a single-use,
 * write-only upload target for the drill host; catalogued with its backup; downloaded as
 * ciphertext by an admin only, audited; and gone with its backup when that is pruned.
 */
describe('realm exports of drills', () => {
  let t: TestContext;
  let dir: string;
  let hostId: string;
  const backupId = 'bk_export00001';
  const ciphertext = 'age-encryption.org/v1 stand-in: the hub never opens an export\n'.repeat(200);
  const api = () => t.client.as(t.adminToken).routes<BackupsRoutes>('/v1');
  const previousDir = process.env.KEYFLEET_BACKUP_DIR;
  const drill = (id = backupId) =>
    api().backups[':id'].drill.$post({
      param: { id },
      json: { hostId, identitySecret: 'dr-key', scratchUrl: 'postgres://drill@127.0.0.1/postgres', export: true },
    });

  const storedBackup = (id: string) =>
    t.db
      .insertInto('backups' as never)
      .values({
        id,
        host_id: hostId,
        state: 'verified',
        recipients: '[]',
        storage_kind: 'local',
        storage_key: `${hostId}/${id}.tar.age`,
        sha256: 'a'.repeat(64),
        size_bytes: 1,
        manifest: JSON.stringify({ keycloak: { version: '26.7.4' }, database: { sha256: 'b'.repeat(64), size: 8192 } }),
      } as never)
      .execute();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-exports-'));
    process.env.KEYFLEET_BACKUP_DIR = dir;
    t = await createTestContext('pglite');
    hostId = await t.addHost({ hostname: 'kc-1', taskTypes: ['backup.drill'] });
    await t.secrets.put('dr-key', await generateIdentity(), 'test');
    await storedBackup(backupId);
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
    if (previousDir === undefined) delete process.env.KEYFLEET_BACKUP_DIR;
    else process.env.KEYFLEET_BACKUP_DIR = previousDir;
  });

  it('refuses an export without recipients, or without a scratch Keycloak, and starts nothing', async () => {
    const refused = await expectStatus(drill(), 409);
    expect(refused.error).toMatch(/no backup recipients/);
    const skip = await expectStatus(
      api().backups[':id'].drill.$post({
        param: { id: backupId },
        json: { hostId, identitySecret: 'dr-key', scratchUrl: 'postgres://drill@127.0.0.1/postgres', export: true, keycloak: 'skip' },
      }),
      400,
    );
    expect(skip.error).toBe('a realm export is made by the scratch Keycloak: export cannot go with keycloak: skip');
    expect(await t.db.selectFrom('tasks').select('id').execute()).toHaveLength(0);
  });

  it('uploads once through its own target, is listed with the backup, downloads for admins only (audited), and goes with a pruned backup', async () => {
    const recipient = await identityToRecipient(await generateIdentity());
    await expectStatus(api()['backup-keys'].$post({ json: { name: 'offline', recipient } }), 201);
    const started = await expectStatus(drill(), 201);
    const task = await t.db.selectFrom('tasks').select(['params']).where('id', '=', started.taskId).executeTakeFirstOrThrow();
    const params = task.params as {
      dumpBytes: number;
      export: { exportId: string; recipients: string[]; upload: { url: string; token: { $secret: string }; mode: string } };
    };
    expect(params.dumpBytes).toBe(8192);
    const { exportId, recipients, upload } = params.export;
    expect(recipients).toEqual([recipient]);
    expect(upload).toEqual({ url: `/v1/backup-export-uploads/${exportId}`, token: { $secret: `backup-upload.${exportId}` }, mode: 'stream' });
    const token = (await t.secrets.reveal([upload.token.$secret])).values.get(upload.token.$secret)!;
    const auth = { authorization: `Bearer ${token}` };

    // Write-only: the token reads nothing, not even the backup it belongs to.
    expect((await t.raw('GET', `/v1/backup-downloads/${backupId}`, { headers: auth })).status).toBe(401);
    const put = await t.raw('PUT', upload.url, { body: ciphertext, headers: { ...auth, 'content-type': 'application/octet-stream' } });
    expect(put.status, put.text).toBe(200);
    const sha256 = createHash('sha256').update(ciphertext).digest('hex');
    expect(put.json).toEqual({ size: ciphertext.length, sha256 });
    expect((await t.raw('PUT', upload.url, { body: 'again', headers: { ...auth, 'content-type': 'application/octet-stream' } })).status).toBe(409);
    const done = await t.raw('POST', `${upload.url}/complete`, { body: { size: ciphertext.length, sha256, realms: ['master', 'kf'] }, headers: auth });
    expect(done.status, done.text).toBe(200);
    expect((await t.raw('POST', `${upload.url}/complete`, { body: { size: 1, sha256, realms: ['x'] }, headers: auth })).status).toBe(401);

    const listed = await expectStatus(api().backups[':id'].exports.$get({ param: { id: backupId } }), 200);
    expect(listed.items).toMatchObject([{ id: exportId, state: 'stored', sizeBytes: ciphertext.length, sha256, realms: ['master', 'kf'] }]);

    const operator = await t.tokenFor('operator');
    expect((await t.raw('POST', `/v1/backups/${backupId}/export`, { token: operator })).status).toBe(403);
    const got = await t.raw('POST', `/v1/backups/${backupId}/export`, { token: t.adminToken });
    expect(got.status).toBe(200);
    expect(got.text).toBe(ciphertext);
    expect(got.headers.get('x-keyfleet-export-id')).toBe(exportId);
    const audit = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'backups.export').execute();
    expect(audit.map((a) => a.target)).toContain(backupId);
    expect(await t.db.selectFrom('secrets').select('name').where('name', 'like', 'backup-upload.%').execute()).toEqual([]);

    // Retention lets the backup go: the sweep takes its export with it.
    await t.db
      .updateTable('backups' as never)
      .set({ state: 'pruned' } as never)
      .where('id' as never, '=', backupId as never)
      .execute();
    const swept = await sweepBackupExports(t.db, async () => new LocalDirStorage(dir), createLogger('test', { level: 'silent' }));
    expect(swept.cleaned).toBe(1);
    expect(await readdir(join(dir, hostId))).toEqual([]);
    expect((await expectStatus(api().backups[':id'].exports.$get({ param: { id: backupId } }), 200)).items[0]!.state).toBe('pruned');
    expect((await t.raw('POST', `/v1/backups/${backupId}/export`, { token: t.adminToken })).status).toBe(404);
  });

  it('an export the drill did not complete fails with the drill host’s reason, and its upload token goes with the task', async () => {
    await storedBackup('bk_export00002');
    const started = await expectStatus(drill('bk_export00002'), 201);
    const task = await t.db.selectFrom('tasks').select(['params']).where('id', '=', started.taskId).executeTakeFirstOrThrow();
    const exportId = (task.params as { export: { exportId: string } }).export.exportId;
    await settleDrillExport(t.db, {
      taskId: started.taskId,
      hostId,
      type: 'backup.drill',
      params: task.params,
      outcome: 'succeeded',
      output: {
        backupId: 'bk_export00002',
        ok: true,
        restoreMs: 1,
        checks: [],
        export: { exportId, ok: false, error: 'kc.sh export failed: no space left' },
      },
      rawOutput: undefined,
      error: null,
      finishedAt: new Date().toISOString(),
    });
    const [x] = (await expectStatus(api().backups[':id'].exports.$get({ param: { id: 'bk_export00002' } }), 200)).items;
    expect(x).toMatchObject({ id: exportId, state: 'failed', error: 'kc.sh export failed: no space left', taskId: started.taskId });
    expect(await t.db.selectFrom('secrets').select('name').where('name', '=', `backup-upload.${exportId}`).execute()).toEqual([]);
  });
});
