import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { secretRef } from '../secret-ref.js';
import { describeInstance, describeVerification, keycloakInstance, verifyLogin, verifyReport } from './keycloak-common.js';
import { certificateRequest } from './tls-certificate-request.js';
import { reloadPeriod } from './tls-common.js';

const keycloakDatabase = z.discriminatedUnion('kind', [
  /** Keycloak's embedded H2 file database: development and tests only. */
  z.object({ kind: z.literal('dev-file') }).strict(),
  /** A Postgres container the agent runs beside Keycloak (docker runtime only). */
  z.object({ kind: z.literal('bundled'), password: secretRef }).strict(),
  /** An existing Postgres. */
  z.object({ kind: z.literal('external'), url: z.string().startsWith('jdbc:postgresql://'), username: z.string(), password: secretRef }).strict(),
]);

/** The desired Keycloak on a host; `keycloak.install` and `keycloak.update` both take it. */
export const keycloakConfig = z
  .object({
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'a Keycloak version like 26.4.7'),
    runtime: z.enum(['docker', 'process']),
    /** process runtime: URL or absolute path of keycloak-<version>.tar.gz. */
    distUrl: z.string().optional(),
    /** docker runtime: image reference, and optionally a tarball to `docker load` on air-gapped hosts. */
    image: z.string().optional(),
    imageTarball: z.string().optional(),
    database: keycloakDatabase,
    /** Public URL (or hostname) Keycloak issues tokens for; keep it when moving a Keycloak. */
    hostname: z.string().min(1),
    httpPort: z.number().int().min(1).max(65535).default(8080),
    managementPort: z.number().int().min(1).max(65535).default(9000),
    proxyHeaders: z.enum(['xforwarded', 'forwarded']).optional(),
    features: z.array(z.string().regex(/^[a-z0-9:-]+$/)).default([]),
    bootstrapAdmin: z.object({ username: z.string().min(1), password: secretRef }).strict(),
    memoryLimitMb: z.number().int().min(256).optional(),
    /** A login `keycloak.verify` runs after install/update. */
    verifyLogin: verifyLogin.optional(),
    /**
     * HTTPS on the public `httpsPort`. The tls feature fills in the PEM files when it installs a
     * certificate; without them Keycloak serves HTTP only. Behind the agent's front (every
     * docker-runtime Keycloak, every process-runtime one with a slot) the front terminates TLS and
     * swaps the certificate when one is installed; a Keycloak listening on its public ports
     * itself serves HTTPS and re-reads the files every `reloadPeriod`.
     */
    tls: z
      .object({
        httpsPort: z.number().int().min(1).max(65535).default(8443),
        certificateFile: z.string().startsWith('/').optional(),
        certificateKeyFile: z.string().startsWith('/').optional(),
        reloadPeriod: reloadPeriod.default('1m'),
        /** Keep serving plain HTTP on `httpPort` once a certificate is installed; off by default (the port is closed). */
        httpEnabled: z.boolean().optional(),
        /**
         * A certificate to ask for with this Keycloak: once the install (or update) succeeds the
         * hub issues it for `httpsPort`, installs it and renews it (see certificateRequest).
         */
        certificate: certificateRequest.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const keycloakInstall = defineTask({
  name: 'keycloak.install',
  description: 'Installs Keycloak (docker or process runtime), builds it for optimized starts, starts it and verifies it. Idempotent.',
  input: keycloakConfig,
  output: z.object({ changed: z.boolean(), instance: keycloakInstance, steps: z.array(z.string()), verify: verifyReport }),
  defaultTimeoutMs: 15 * 60_000,
  summary: (o) => `${o.changed ? 'installed' : 'already installed, no change'}: ${describeInstance(o.instance)}; ${describeVerification(o.verify)}`,
});
