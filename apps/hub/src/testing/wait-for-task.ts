// Test support: only tests import apps/hub/src/testing/; the hub itself never does.
import type { TaskState } from '@keyfleet/proto/v1';
import { expect, vi } from 'vitest';
import { expectStatus } from './expect-status.js';
import type { HubTestClient } from './hub-test-client.js';

/** Waits (`vi.waitFor`) until a task is in one of `states`, and returns it as GET /v1/tasks/{id} shows it. */
export async function waitForTask(client: HubTestClient, taskId: string, states: readonly TaskState[], timeoutMs = 30_000) {
  return vi.waitFor(
    async () => {
      const task = await expectStatus(client.api.v1.tasks[':id'].$get({ param: { id: taskId } }), 200);
      expect(states, `task ${taskId} is ${task.state}`).toContain(task.state);
      return task;
    },
    { timeout: timeoutMs, interval: 100 },
  );
}
