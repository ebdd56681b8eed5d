import type { TaskHandler } from '../../task-handler.js';
import { TaskFailure } from '../../task-failure.js';
import { ChallengeResponder } from './challenge-responder.js';

/** Opens (or reuses) the short-lived HTTP-01 listener and returns once it answers the token. */
export const tlsChallenge: TaskHandler<'tls.challenge'> = async (input, ctx) => {
  const expiresAt = Date.now() + input.ttlSec * 1000;
  try {
    await ChallengeResponder.answer(
      input.port,
      input.token,
      { keyAuthorization: input.keyAuthorization, certificateId: input.certificateId, expiresAt },
      ctx.log,
    );
  } catch (err) {
    throw new TaskFailure('handler_error', (err as Error).message);
  }
  return { url: `http://<host>:${input.port}/.well-known/acme-challenge/${input.token}`, expiresAt: new Date(expiresAt).toISOString() };
};
