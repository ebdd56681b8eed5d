import { installedInstance } from '../instance/installed-instance.js';
import { secretValue } from '../../../secret-value.js';
import { verifyFailure } from '../verify/verify-failure.js';
import { verifyKeycloak } from '../verify/verify-keycloak.js';
import type { TaskHandler } from '../../../task-handler.js';

/**
 * Verifies the installed Keycloak (health, discovery, JWKS, TLS, admin API, a real login with
 * the given login or the one configured at install). Any failed check fails the task, so the
 * operator sees it; the message names every failed check and why.
 */
export const keycloakVerify: TaskHandler<'keycloak.verify'> = async (input, ctx) => {
  const record = await installedInstance(ctx.stateDir);
  const login = input.login ?? record.config.verifyLogin;
  if (login) secretValue(login.grant === 'password' ? login.password : login.clientSecret);
  const report = await verifyKeycloak(record, login, ctx.signal);
  if (!report.ok) throw new Error(verifyFailure(report));
  return report;
};
