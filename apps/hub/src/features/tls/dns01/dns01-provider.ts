/**
 * Publishes and removes the TXT record of an ACME DNS-01 challenge. `present` resolves once the
 * record is visible to the CA (an RFC 2136 update to the primary is; a hook script waits for its
 * own DNS's propagation), `cleanup` removes only this value, so parallel challenges for the same
 * name (a renewal overlapping a first issuance) keep theirs.
 */
export interface Dns01Provider {
  /** What the certificate's row and errors name it by (`rfc2136 127.0.0.1:53`, `hook /usr/local/bin/dns01`). */
  readonly description: string;
  present(domain: string, recordName: string, value: string, signal?: AbortSignal): Promise<void>;
  cleanup(domain: string, recordName: string, value: string, signal?: AbortSignal): Promise<void>;
}

/** Where DNS-01 looks for the challenge of `domain` (RFC 8555 8.4). */
export function dns01RecordName(domain: string): string {
  return `_acme-challenge.${domain.replace(/^\*\./, '')}`;
}
