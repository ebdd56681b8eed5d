/**
 * Makes one ACME challenge answerable, then tidies up: HTTP-01 on the host, DNS-01 in DNS. The
 * ACME issuer calls `present`, tells the CA to validate, waits, and calls `cleanup` either way.
 */
export interface AcmeChallengeSolver {
  readonly type: 'http-01' | 'dns-01';
  /** What failures name, e.g. `HTTP-01 on port 80` or `DNS-01 via rfc2136 10.0.0.53:53`. */
  readonly description: string;
  present(domain: string, token: string, keyAuthorization: string, signal?: AbortSignal): Promise<void>;
  cleanup(domain: string, token: string, keyAuthorization: string, signal?: AbortSignal): Promise<void>;
}
