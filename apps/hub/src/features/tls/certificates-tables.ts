import type { ColumnType, Generated, JSONColumnType, Kysely } from 'kysely';
import type { z } from '@hono/zod-openapi';
import type { Database } from '../../store/database.js';
import type { DnsProviderSchema } from './dns-provider-schema.js';

type Timestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** Who signs: an ACME directory (account key in the secret store), or the hub's own CA. */
export type CertificateIssuer = { kind: 'acme'; directoryUrl: string } | { kind: 'internal' };

/** How DNS-01 records are published: RFC 2136 updates (TSIG key by its secret's name) or the hub's hook command. */
export type DnsProviderConfig = z.output<typeof DnsProviderSchema>;

export type CertificateState = 'pending' | 'issuing' | 'valid' | 'failed' | 'revoked';

export interface CertificatesTable {
  id: string;
  host_id: string;
  domains: JSONColumnType<string[]>;
  issuer: JSONColumnType<CertificateIssuer>;
  /** 'none' for the internal CA, which asks no proof. */
  challenge: 'http-01' | 'dns-01' | 'none';
  dns: JSONColumnType<DnsProviderConfig | null, string | null | undefined, string | null>;
  key_type: 'ecdsa-p256' | 'rsa-2048';
  http01_port: number;
  https_port: number;
  reload_period: string;
  state: CertificateState;
  serial: string | null;
  not_before: Timestamp;
  not_after: Timestamp;
  /** Leaf and chain as issued: public material only. */
  certificate_pem: string | null;
  /** What the host's handshake showed after the last install. */
  served_serial: string | null;
  served_not_after: Timestamp;
  served_checked_at: Timestamp;
  /** When the scheduler next issues: first issuance, renewal time, or a retry after a failure. */
  next_attempt_at: Timestamp;
  /** Failed attempts since the last success (drives the backoff). */
  attempts: Generated<number>;
  last_error: string | null;
  /** How long the last successful issuance took end to end. */
  last_issued_ms: number | null;
  lease_until: Timestamp;
  /** The CA's suggested renewal window (ARI) that next_attempt_at was drawn from, if it gave one. */
  renewal_window_start: Timestamp;
  renewal_window_end: Timestamp;
  /** When to ask the CA again whether its window moved (its Retry-After). */
  renewal_check_at: Timestamp;
  /** When the certificate was revoked (state `revoked`), and the reason's name (see revocationReasons). */
  revoked_at: Timestamp;
  revocation_reason: string | null;
  /** Asked for by the host's Keycloak config (`tls.certificate`), not by `POST /v1/certificates`: one per host. */
  requested_by_config: Generated<boolean>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  created_by: string;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface AcmeOrdersTable {
  id: Generated<string>;
  directory_url: string;
  ordered_at: ColumnType<Date, Date | string | undefined, never>;
}

export type TlsTables = { certificates: CertificatesTable; acme_orders: AcmeOrdersTable };

/** The hub's database seen with the tls feature's tables. */
export function tlsDb(db: Kysely<Database>): Kysely<Database & TlsTables> {
  return db.withTables<TlsTables>();
}
