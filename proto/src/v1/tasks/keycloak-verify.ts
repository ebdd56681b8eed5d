import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { describeVerification, verifyLogin, verifyReport } from './keycloak-common.js';

export const keycloakVerify = defineTask({
  name: 'keycloak.verify',
  description: 'Checks health, OIDC discovery, JWKS, TLS (when on), the admin API and a real login.',
  input: z.object({ login: verifyLogin.optional() }).strict(),
  output: verifyReport,
  defaultTimeoutMs: 2 * 60_000,
  summary: describeVerification,
});
