import { createLogger } from '@keyfleet/log';
import type { TaskContext } from '../task-handler.js';

/** A task context for calling a handler directly in a test: silent log, no progress sink, fixed agent facts. */
export function testTaskContext(overrides: Partial<TaskContext> = {}): TaskContext {
  return {
    signal: new AbortController().signal,
    progress: () => {},
    log: createLogger('test', { level: 'silent' }),
    stateDir: '/nonexistent/keyfleet-agent-state',
    agent: {
      hostId: 'h_test',
      version: '0.0.0-test',
      startedAt: new Date().toISOString(),
      natsRttMs: async () => undefined,
      journalStats: async () => ({ entries: 0, bytes: 0 }),
    },
    ...overrides,
  };
}
