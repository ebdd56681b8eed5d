import { z } from 'zod';
import { defineTask } from '../define-task.js';
import { backupId, downloadSource } from './backup-common.js';
import { keycloakInstance, verifyReport } from './keycloak-common.js';
import { keycloakConfig } from './keycloak-install.js';

export const backupRestore = defineTask({
  name: 'backup.restore',
  description:
    'Puts a backup back onto this host’s installed Keycloak of the same version: stops it, replaces its database in one transaction (pg_restore --clean), restores providers and themes, starts it and verifies it. On a host without Keycloak it also installs the backup’s version with `install`: on an external database after restoring into it, so Keycloak first starts on the restored data; on a bundled one first. The hub decrypts; this host never gets an identity.',
  input: z
    .object({
      backupId,
      /** The backup's plaintext tar, decrypted by the hub, once, with a single-use token. */
      source: downloadSource,
      /** The Keycloak version the backup was taken from; the installed one must match. */
      keycloakVersion: z.string(),
      /** The dump's sha256 from the manifest; checked before anything is started again. */
      dumpSha256: z.string().regex(/^[0-9a-f]{64}$/),
      /** The dump's size from the manifest: what the restore's progress counts towards. */
      dumpBytes: z.number().int().nonnegative().optional(),
      /**
       * The Keycloak to install when this host has none (the disaster case: a fresh host with
       * only the agent); its version is the backup's. A host that has Keycloak ignores it.
       */
      install: keycloakConfig.optional(),
    })
    .strict(),
  output: z.object({
    backupId,
    /** Keycloak stopped until it answered ready again; with `installed`, from the task's start until the new one did. */
    downtimeMs: z.number().nonnegative(),
    restoreMs: z.number().nonnegative(),
    files: z.number().int().nonnegative(),
    verify: verifyReport,
    /** Keycloak was installed by this restore (the host had none); `instance` is what runs now. */
    installed: z.boolean().optional(),
    instance: keycloakInstance.optional(),
  }),
  defaultTimeoutMs: 2 * 3600_000,
  summary: (o) =>
    `${o.installed ? `installed Keycloak ${o.instance?.version ?? ''} and ` : ''}restored ${o.backupId}: database and ${o.files} files in ${(o.restoreMs / 1000).toFixed(1)}s, Keycloak ${o.installed ? 'ready after' : 'down'} ${(o.downtimeMs / 1000).toFixed(1)}s, ${o.verify.ok ? 'verified' : 'verify FAILED'}`,
});
