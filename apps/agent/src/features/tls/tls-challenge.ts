import { frontChallenges } from '../keycloak/index.js';
import type { TaskHandler } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { ChallengeResponder } from './challenge-responder.js';

/**
 * Makes the HTTP-01 answer reachable on the port the CA connects to: through the Keycloak front
 * when it serves plain HTTP there (it owns the port: a docker-runtime Keycloak's public HTTP
 * port), else from a short-lived listener of its own. Returns once it is answerable.
 */
export const tlsChallenge: TaskHandler<'tls.challenge'> = async (input, ctx) => {
  const expiresAt = Date.now() + input.ttlSec * 1000;
  const answer = { keyAuthorization: input.keyAuthorization, certificateId: input.certificateId, expiresAt };
  try {
    if (await frontChallenges.servesHttpOn(ctx.stateDir, input.port, ctx.log)) {
      await frontChallenges.put(ctx.stateDir, input.token, answer);
      ctx.progress(undefined, `the Keycloak front answers on port ${input.port}`);
    } else {
      await ChallengeResponder.answer(input.port, input.token, answer, ctx.log);
    }
  } catch (err) {
    throw new TaskFailure('handler_error', (err as Error).message);
  }
  return { url: `http://<host>:${input.port}/.well-known/acme-challenge/${input.token}`, expiresAt: new Date(expiresAt).toISOString() };
};
