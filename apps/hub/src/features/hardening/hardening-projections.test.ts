import * as v1 from '@keyfleet/proto/v1';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectStatus } from '../../testing/expect-status.js';
import type { FakeAgent } from '../../testing/fake-agent.js';
import { fleetApi } from '../../testing/fleet-api.js';
import type { HubTestClient, TaskRequest } from '../../testing/hub-test-client.js';
import { testBackends } from '../../testing/test-database.js';
import { startTestFleet, type TestFleet } from '../../testing/test-fleet.js';
import { waitOptions } from '../../testing/wait-options.js';
import { driftedRules } from './drifted-rules.js';
import type { HardeningRoutes } from './hardening-routes.js';

const finding = (rule: string, status: 'pass' | 'fail' | 'disabled' | 'error') => ({
  rule,
  title: rule,
  why: 'why',
  status,
  current: 'seen',
  wanted: 'wanted',
  changes: [],
});
const report = (statuses: Record<string, 'pass' | 'fail' | 'disabled' | 'error'>, checkedAt = new Date().toISOString()) => {
  const findings = Object.entries(statuses).map(([rule, s]) => finding(rule, s));
  const counted = findings.filter((f) => f.status !== 'disabled');
  return { profile: 'keycloak-host', checkedAt, score: Math.round((100 * counted.filter((f) => f.status === 'pass').length) / counted.length), findings };
};

describe.each(testBackends)('the hardening read model (%s)', (backend) => {
  let fleet: TestFleet;
  let api: HubTestClient;

  beforeAll(async () => {
    fleet = await startTestFleet(backend);
    api = await fleetApi(fleet, (await fleet.startHub()).dispatcher);
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  async function onlineAgent(): Promise<FakeAgent> {
    const agent = await fleet.agent(await fleet.addHost());
    expect((await agent.hello({ taskTypes: Object.keys(v1.taskDefinitions) })).kind).toBe('welcome');
    return agent;
  }

  /** Queues a task through the API, waits until the agent has it, and answers with `output`. */
  async function answer(agent: FakeAgent, json: TaskRequest, output: unknown): Promise<string> {
    const { tasks } = await expectStatus(api.api.v1.tasks.$post({ json }), 201);
    const id = tasks[0]!.id;
    await vi.waitFor(() => expect(agent.tasks.some((t) => t.taskId === id)).toBe(true), waitOptions);
    expect((await agent.result(id, 'succeeded', { output })).kind).toBe('ack');
    return id;
  }

  const hardening = () => api.routes<HardeningRoutes>('/v1');
  const host = (agent: FakeAgent) => expectStatus(hardening().hosts[':id'].hardening.$get({ param: { id: agent.hostId }, query: {} }), 200);

  it('keeps the last report, records drift between audits, and ignores an older report arriving late', async () => {
    const agent = await onlineAgent();
    const target = { hostId: agent.hostId };
    expect(await host(agent)).toMatchObject({ report: null, events: [] });

    const first = report({ 'ssh.daemon': 'pass', 'sysctl.network': 'pass', 'sysctl.ptrace': 'disabled' });
    await answer(agent, { type: 'hardening.audit', target }, first);
    expect(await host(agent)).toMatchObject({ report: first, events: [] });

    // Someone edits sshd's config by hand; the next audit sees it.
    const drifted = report({ 'ssh.daemon': 'fail', 'sysctl.network': 'pass', 'sysctl.ptrace': 'disabled' });
    const auditId = await answer(agent, { type: 'hardening.audit', target }, drifted);
    const afterDrift = await host(agent);
    expect(afterDrift.report).toEqual(drifted);
    expect(afterDrift.events).toEqual([
      { at: drifted.checkedAt, cause: 'hardening.audit', taskId: auditId, changes: [{ rule: 'ssh.daemon', from: 'pass', to: 'fail' }] },
    ]);

    const stale = report({ 'ssh.daemon': 'pass', 'sysctl.network': 'pass' }, new Date(Date.parse(first.checkedAt) - 60_000).toISOString());
    await answer(agent, { type: 'hardening.audit', target }, stale);
    expect((await host(agent)).report).toEqual(drifted);

    const fixed = report({ 'ssh.daemon': 'pass', 'sysctl.network': 'pass', 'sysctl.ptrace': 'disabled' });
    const applyId = await answer(
      agent,
      { type: 'hardening.apply', target, params: { rules: ['ssh.daemon'] } },
      {
        dryRun: false,
        changes: [{ rule: 'ssh.daemon', target: '/etc/ssh/sshd_config.d/01-keyfleet-hardening.conf', before: '(absent)', after: 'PermitRootLogin no' }],
        refused: [],
        rollbackId: 'hr_0000000001abcdef',
        report: fixed,
      },
    );
    const afterApply = await host(agent);
    expect(afterApply.events.map((e) => [e.cause, e.taskId])).toEqual([
      ['hardening.apply', applyId],
      ['hardening.audit', auditId],
    ]);

    const listed = (await expectStatus(hardening().hardening.hosts.$get({ query: {} }), 200)).items.find((h) => h.hostId === agent.hostId);
    expect(listed).toEqual({ hostId: agent.hostId, hostname: expect.any(String), score: 100, failing: [], checkedAt: fixed.checkedAt, taskId: applyId });
  });

  it('counts as drift only a rule an audit found failing after it passed; one rolled back or never passing is not', async () => {
    const agent = await onlineAgent();
    const target = { hostId: agent.hostId };
    const drifted = () => driftedRules(fleet.db, [agent.hostId]);
    await answer(agent, { type: 'hardening.audit', target }, report({ 'ssh.daemon': 'pass', 'sysctl.network': 'fail', 'files.modes': 'pass' }));
    expect(await drifted()).toEqual([]);
    await answer(agent, { type: 'hardening.audit', target }, report({ 'ssh.daemon': 'fail', 'sysctl.network': 'fail', 'files.modes': 'pass' }));
    expect(await drifted()).toEqual([{ hostId: agent.hostId, rule: 'ssh.daemon' }]);
    // An error after the drift is still the same failing streak, begun by the audit.
    await answer(agent, { type: 'hardening.audit', target }, report({ 'ssh.daemon': 'error', 'sysctl.network': 'fail', 'files.modes': 'pass' }));
    expect(await drifted()).toEqual([{ hostId: agent.hostId, rule: 'ssh.daemon' }]);
    const rolledBack = report({ 'ssh.daemon': 'pass', 'sysctl.network': 'fail', 'files.modes': 'fail' });
    await answer(
      agent,
      { type: 'hardening.rollback', target, params: { rollbackId: 'hr_0000000001abcdef' } },
      { rollbackId: 'hr_0000000001abcdef', restored: [], report: rolledBack },
    );
    expect(await drifted()).toEqual([]);
  });

  it('lists a host with no report yet with nulls, and 404s an unknown host', async () => {
    const agent = await onlineAgent();
    const listed = (await expectStatus(hardening().hardening.hosts.$get({ query: {} }), 200)).items.find((h) => h.hostId === agent.hostId);
    expect(listed).toMatchObject({ score: null, failing: [], checkedAt: null });
    await expectStatus(hardening().hosts[':id'].hardening.$get({ param: { id: 'h_nope' }, query: {} }), 404);
  });
});
