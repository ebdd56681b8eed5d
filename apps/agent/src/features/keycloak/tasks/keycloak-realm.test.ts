import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { keycloakRealmApply, keycloakRealmPlan } from './keycloak-realm.js';
import { TaskFailure } from '../../../task-failure.js';
import { testTaskContext } from '../../../testing/test-task-context.js';

const planInput = taskDefinitions['keycloak.realm.plan'].input;
const applyInput = taskDefinitions['keycloak.realm.apply'].input;

describe('keycloak.realm.plan / apply handlers', () => {
  let stateDir: string;
  const ctx = () => testTaskContext({ stateDir });
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-realm-handler-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('fails as invalid_input, naming the secret, when the hub sent a secret reference without its value', async () => {
    const input = applyInput.parse({ spec: { realm: 'app', clients: [{ clientId: 'api', secret: { $secret: 'api-secret' } }] } });
    const err = await keycloakRealmApply(input, ctx()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskFailure);
    expect((err as TaskFailure).code).toBe('invalid_input');
    expect((err as Error).message).toMatch(/client "api" secret: secret "api-secret" has no value/);
  });

  it('refuses a malformed spec at decoding, naming the field', () => {
    const res = planInput.safeParse({ spec: { realm: 'app', clients: [{ clientId: 'web', redirectUri: ['https://a.example.com/*'] }] } });
    expect(res.success).toBe(false);
    expect(z.prettifyError(res.error!)).toMatch(/Unrecognized key: "redirectUri"[\s\S]*spec\.clients\[0\]/);
  });

  it('says Keycloak must be installed first when this host has no instance', async () => {
    await expect(keycloakRealmPlan(planInput.parse({ spec: { realm: 'app' } }), ctx())).rejects.toThrow(
      'Keycloak is not installed on this host (run keycloak.install first)',
    );
  });
});
