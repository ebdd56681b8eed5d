import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../../../testing/expect-status.js';
import { createTestContext, type TestContext } from '../../../testing/test-context.js';
import { testBackends } from '../../../testing/test-database.js';
import type { BackupsRoutes } from '../index.js';

describe.each(testBackends)('the backup schedule routes (%s)', (backend) => {
  let t: TestContext;
  const api = (token?: string) => t.client.as(token ?? t.adminToken).routes<BackupsRoutes>('/v1')['backup-schedules'];
  const nightly = { name: 'nightly', kind: 'backup' as const, cron: '0 2 * * *', timezone: 'Europe/Berlin', selector: 'env=prod', retention: { keepDaily: 7 } };

  beforeAll(async () => {
    t = await createTestContext(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a schedule with its defaults and next fire time in its zone, lists and shows it by id or name', async () => {
    const created = await expectStatus(api().$post({ json: nightly }), 201);
    expect(created).toMatchObject({
      name: 'nightly',
      kind: 'backup',
      timezone: 'Europe/Berlin',
      selector: 'env=prod',
      windowSeconds: 1800,
      maxConcurrent: 10,
      retention: { keepDaily: 7 },
      drill: null,
      paused: false,
      lastRun: null,
    });
    expect(created.id).toMatch(/^bs_/);
    // 02:00 in Berlin is 01:00 or 00:00 UTC, depending on the season.
    expect(created.nextFireAt).toMatch(/T0[01]:00:00\.000Z$/);
    expect(new Date(created.nextFireAt!).getTime()).toBeGreaterThan(Date.now());

    const listed = await expectStatus(api(await t.tokenFor('viewer')).$get(), 200);
    expect(listed.items.map((s) => s.name)).toContain('nightly');
    for (const ref of [created.id, 'nightly']) {
      const shown = await expectStatus(api()[':id'].$get({ param: { id: ref } }), 200);
      expect(shown).toMatchObject({ id: created.id, runs: [], lastRunUnits: [] });
    }
    expect(await expectStatus(api().$post({ json: nightly }), 409)).toEqual({ error: 'a backup schedule named nightly exists already' });
  });

  it('refuses a bad cron expression, time zone, selector or combination with a 400 that says what is wrong', async () => {
    const refused = async (json: Record<string, unknown>) =>
      (await expectStatus(api().$post({ json: { ...nightly, name: 'bad', ...json } as never }), 400)).error;
    expect(await refused({ cron: '61 2 * * *' })).toBe('invalid cron expression "61 2 * * *": Invalid value for minute: 61');
    expect(await refused({ cron: 'every night' })).toMatch(/^invalid cron expression "every night": /);
    expect(await refused({ cron: '0 0 30 2 *' })).toBe('cron expression "0 0 30 2 *" never fires');
    expect(await refused({ timezone: 'Mars/Olympus' })).toBe('unknown time zone "Mars/Olympus": give an IANA zone such as UTC or Europe/Berlin');
    expect(await refused({ selector: 'env' })).toMatch(/^invalid body: selector: a selector is key=value/);
    expect(await refused({ kind: 'drill', retention: undefined })).toBe('a drill schedule needs drill: { hostId, identitySecret, scratchUrl }');
    expect(await refused({ retention: { keepLast: 0 } })).toMatch(/^a retention policy keeps something/);
    expect(await refused({ maxConcurrent: 0 })).toMatch(/^invalid body: maxConcurrent/);
  });

  it('creates a task schedule for any declared task type, refusing an unknown type, bad params or inline secrets', async () => {
    const audit = { name: 'audit-hourly', kind: 'task' as const, cron: '0 * * * *', task: { type: 'hardening.audit', params: { disabled: [] } } };
    const created = await expectStatus(api().$post({ json: audit }), 201);
    expect(created).toMatchObject({ kind: 'task', task: audit.task, drill: null, retention: null });
    expect((await expectStatus(api()[':id'].$get({ param: { id: 'audit-hourly' } }), 200)).task).toEqual(audit.task);
    const refused = async (json: Record<string, unknown>) =>
      (await expectStatus(api().$post({ json: { ...audit, name: 'bad-task', ...json } as never }), 400)).error;
    expect(await refused({ task: undefined })).toBe('a task schedule needs task: { type, params }');
    expect(await refused({ task: { type: 'hardening.audti', params: {} } })).toMatch(/^unknown task type "hardening.audti"; known types: .*hardening\.audit/);
    expect(await refused({ task: { type: 'hardening.audit', params: { profile: 'laptop' } } })).toMatch(/^invalid params for hardening.audit: profile/);
    expect(await refused({ kind: 'backup', retention: undefined })).toBe('a task belongs to task schedules (kind: task)');
    expect(await refused({ task: { type: 'noop', params: { token: { $secret: 'x', value: 'inline' } } } })).toMatch(
      /^secret values are never stored in a schedule/,
    );
  });

  it('checks a drill schedule’s host and identity secret', async () => {
    const drill = { hostId: 'h_nope', identitySecret: 'dr-identity', scratchUrl: 'postgres://drill@127.0.0.1/postgres' };
    const body = { name: 'weekly-drill', kind: 'drill' as const, cron: '0 4 * * 0', drill };
    expect((await expectStatus(api().$post({ json: body }), 404)).error).toBe('drill host h_nope not found');
    const hostId = await t.addHost({ hostname: 'drill-1', labels: { 'keyfleet.io/drill': 'true' } });
    expect((await expectStatus(api().$post({ json: { ...body, drill: { ...drill, hostId } } }), 404)).error).toMatch(/^unknown secret dr-identity/);
    await t.secrets.put('dr-identity', 'AGE-SECRET-KEY-1TEST', 'test');
    expect(await expectStatus(api().$post({ json: { ...body, drill: { ...drill, hostId } } }), 201)).toMatchObject({ kind: 'drill', drill: { hostId } });
  });

  it('pauses (no next fire time) and resumes for operators, deletes for admins only', async () => {
    const operator = await t.tokenFor('operator');
    await expectStatus(api().$post({ json: { ...nightly, name: 'pausable' } }), 201);
    const paused = await expectStatus(api(operator)[':id'].pause.$post({ param: { id: 'pausable' } }), 200);
    expect(paused).toMatchObject({ paused: true, nextFireAt: null });
    const resumed = await expectStatus(api(operator)[':id'].resume.$post({ param: { id: 'pausable' } }), 200);
    expect(resumed.paused).toBe(false);
    expect(resumed.nextFireAt).not.toBeNull();

    expect((await expectStatus(api(operator)[':id'].$delete({ param: { id: 'pausable' } }), 403)).error).toMatch(/needs role admin/);
    expect(await expectStatus(api()[':id'].$delete({ param: { id: 'pausable' } }), 200)).toEqual({ id: resumed.id, name: 'pausable' });
    expect((await expectStatus(api()[':id'].$get({ param: { id: 'pausable' } }), 404)).error).toBe('backup schedule pausable not found');
    expect((await expectStatus(api(operator).$post({ json: { ...nightly, name: 'by-operator' } }), 403)).error).toMatch(/needs role admin/);
  });
});
