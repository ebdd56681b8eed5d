import type { AcmeChallengeSolver } from '../acme-challenge-solver.js';
import { type Dns01Provider, dns01RecordName } from './dns01-provider.js';

/** DNS-01 through a provider: the TXT record at `_acme-challenge.<domain>` holds the key authorization's digest. */
export class Dns01Solver implements AcmeChallengeSolver {
  readonly type = 'dns-01' as const;
  readonly description: string;

  constructor(private readonly provider: Dns01Provider) {
    this.description = `DNS-01 via ${provider.description}`;
  }

  // acme-client's key authorization for a dns-01 challenge is already the base64url SHA-256 digest the record holds.
  present(domain: string, _token: string, keyAuthorization: string, signal?: AbortSignal): Promise<void> {
    return this.provider.present(domain, dns01RecordName(domain), keyAuthorization, signal);
  }

  cleanup(domain: string, _token: string, keyAuthorization: string, signal?: AbortSignal): Promise<void> {
    return this.provider.cleanup(domain, dns01RecordName(domain), keyAuthorization, signal);
  }
}
