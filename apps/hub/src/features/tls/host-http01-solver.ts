import type { ApiDeps } from '../../api/api-deps.js';
import type { AcmeChallengeSolver } from './acme-challenge-solver.js';
import { runHostTask } from './run-host-task.js';

/** How long a challenge listener on the host stays up: long enough for a slow CA, short enough to be gone soon after. */
const CHALLENGE_TTL_SEC = 300;

/** HTTP-01 answered by the agent on the host, from a short-lived listener (`tls.challenge`). */
export class HostHttp01Solver implements AcmeChallengeSolver {
  readonly type = 'http-01' as const;
  readonly description: string;

  constructor(
    private readonly deps: Pick<ApiDeps, 'db' | 'dispatcher'>,
    private readonly hostId: string,
    private readonly certificateId: string,
    private readonly port: number,
  ) {
    this.description = `HTTP-01 on port ${port}`;
  }

  async present(_domain: string, token: string, keyAuthorization: string, signal?: AbortSignal): Promise<void> {
    await runHostTask(
      this.deps,
      this.hostId,
      'tls.challenge',
      { certificateId: this.certificateId, token, keyAuthorization, port: this.port, ttlSec: CHALLENGE_TTL_SEC },
      { signal },
    );
  }

  async cleanup(): Promise<void> {
    // The listener closes itself after the install or its TTL.
  }
}
