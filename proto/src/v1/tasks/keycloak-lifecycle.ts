import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { describeInstance, keycloakInstance } from './keycloak-common.js';

const none = z.object({}).strict();
const lifecycleOutput = z.object({ changed: z.boolean(), instance: keycloakInstance });
const lifecycleSummary = (o: z.output<typeof lifecycleOutput>) => `${describeInstance(o.instance)}; ${o.changed ? 'changed' : 'no change'}`;

export const keycloakStart = defineTask({
  name: 'keycloak.start',
  description: 'Starts the installed Keycloak and waits until it is ready.',
  input: none,
  output: lifecycleOutput,
  defaultTimeoutMs: 5 * 60_000,
  summary: lifecycleSummary,
});

export const keycloakStop = defineTask({
  name: 'keycloak.stop',
  description: 'Stops the installed Keycloak.',
  input: none,
  output: lifecycleOutput,
  defaultTimeoutMs: 2 * 60_000,
  summary: lifecycleSummary,
});

export const keycloakRestart = defineTask({
  name: 'keycloak.restart',
  description: 'Restarts the installed Keycloak and waits until it is ready.',
  input: none,
  output: lifecycleOutput,
  defaultTimeoutMs: 5 * 60_000,
  summary: lifecycleSummary,
});

export const keycloakStatus = defineTask({
  name: 'keycloak.status',
  description: 'Reports version, runtime, readiness, uptime and realms of the installed Keycloak.',
  input: none,
  output: z.object({ installed: z.boolean(), instance: keycloakInstance.optional() }),
  defaultTimeoutMs: 60_000,
  summary: (o) => (o.installed && o.instance ? describeInstance(o.instance) : 'not installed'),
});
