import { taskDefinitions } from '@keyfleet/proto/v1';
import { describe, expect, it } from 'vitest';
import { testTaskContext } from '../../testing/test-task-context.js';
import { agentDiagnostics } from './agent-diagnostics.js';

describe('agent.diagnostics task', () => {
  it('reports versions, uptime, journal and RTT in the declared shape', async () => {
    const base = testTaskContext();
    const startedAt = new Date(Date.now() - 90_000).toISOString();
    const ctx = testTaskContext({
      agent: { ...base.agent, startedAt, natsRttMs: async () => 1.5, journalStats: async () => ({ entries: 3, bytes: 2048 }) },
    });
    const out = taskDefinitions['agent.diagnostics'].output.parse(await agentDiagnostics({}, ctx));
    expect(out).toMatchObject({ agentVersion: '0.0.0-test', nodeVersion: process.version, protoVersion: 'v1', natsRttMs: 1.5 });
    expect(out.journal).toEqual({ entries: 3, bytes: 2048 });
    expect(out.uptimeSec).toBeGreaterThanOrEqual(90);
    expect(taskDefinitions['agent.diagnostics'].summary(out)).toMatch(/^agent 0\.0\.0-test on node v\d+.*, journal 3 tasks \(2 KiB\), NATS RTT 1\.5 ms$/);
  });

  it('leaves the RTT out while NATS is not connected', async () => {
    const out = await agentDiagnostics({}, testTaskContext());
    expect(out).not.toHaveProperty('natsRttMs');
  });
});
