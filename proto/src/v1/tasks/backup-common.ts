import { z } from 'zod';
import { secretRef } from '../secret-ref.js';

/** A backup's id in the hub's catalog (`bk_…`). */
export const backupId = z.string().regex(/^bk_[a-z0-9]{8,40}$/, 'a backup id like bk_…');

/** A realm export's id in the hub's catalog (`bx_…`): the byproduct of a drill, kept with its backup. */
export const backupExportId = z.string().regex(/^bx_[a-z0-9]{8,40}$/, 'a backup export id like bx_…');

/** An age X25519 recipient (public key). Identities (AGE-SECRET-KEY-…) are never accepted here. */
export const ageRecipient = z.string().regex(/^age1[02-9ac-hj-np-z]{58}$/, 'an age X25519 recipient (age1…, 62 characters)');

/**
 * Where an agent may write exactly one backup object, and nothing else: a hub URL (absolute, or
 * relative to the hub the agent enrolled with) and a single-use bearer token that the hub fills
 * in on the wire from its secret store. `stream`: one PUT of the whole ciphertext; `s3-multipart`:
 * the hub hands out presigned part URLs one by one. Either way the upload ends with `complete`,
 * where the hub checks size and sha256 before the backup counts as stored.
 */
export const uploadTarget = z
  .object({
    url: z.string().min(1),
    token: secretRef,
    mode: z.enum(['stream', 's3-multipart']),
    /** s3-multipart: bytes per part (S3's minimum is 5 MiB except the last). */
    partSizeBytes: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .max(256 * 1024 * 1024)
      .optional(),
  })
  .strict();

/** A single-use, read-only way to fetch one backup object from the hub. */
export const downloadSource = z.object({ url: z.string().min(1), token: secretRef }).strict();

export const realmCounts = z.object({
  realm: z.string(),
  users: z.number().int().nonnegative(),
  clients: z.number().int().nonnegative(),
  groups: z.number().int().nonnegative(),
  /** `kid`s of the realm's active signing keys (as its JWKS lists them). */
  kids: z.array(z.string()),
});

const manifestFile = z.object({ path: z.string(), size: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/**
 * What a backup unit holds, written as `manifest.json`, the last entry of its tar, and kept in
 * the hub's catalog. The database dump is split into `database/keycloak.dump.NNNNN` entries
 * (a tar entry needs its size up front; the dump streams), which concatenated are one
 * `pg_dump -Fc` file of `database.size` bytes.
 */
export const backupManifest = z.object({
  format: z.literal('keyfleet-backup/1'),
  backupId,
  hostId: z.string(),
  keycloak: z.object({
    version: z.string(),
    runtime: z.enum(['docker', 'process']),
    /** Build options as `kc.sh build` got them. */
    buildOptions: z.array(z.string()),
    hostname: z.string(),
  }),
  database: z.object({
    format: z.literal('pg_dump-custom'),
    pgDumpVersion: z.string(),
    serverVersion: z.string(),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    parts: z.array(z.string()),
  }),
  realms: z.array(realmCounts),
  files: z.array(manifestFile),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
});

export type BackupManifest = z.infer<typeof backupManifest>;

export const scratchDatabase = z
  .object({
    /** A Postgres server the drill may create and drop one scratch database on (postgres://user@host:port/db). */
    url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
    password: secretRef.optional(),
  })
  .strict();

export const bytesText = (n: number) =>
  n < 1024
    ? `${n} B`
    : n < 1024 ** 2
      ? `${(n / 1024).toFixed(1)} KiB`
      : n < 1024 ** 3
        ? `${(n / 1024 ** 2).toFixed(1)} MiB`
        : `${(n / 1024 ** 3).toFixed(2)} GiB`;

/**
 * What the hub answers an agent that asks, by a host-signed `POST /v1/agent/pre-update-backups`,
 * where to write the backup unit it takes before a Keycloak version upgrade: a catalog entry of
 * its own host, the fleet's recipients and a single-use upload target. The upload token travels
 * in this one answer to the authenticated host (like a task's resolved secret) and is stored by
 * the hub only as a hash.
 */
export const preUpdateBackupTarget = z
  .object({
    backupId,
    recipients: z.array(ageRecipient).min(1),
    upload: z.object({ url: z.string().min(1), token: z.string().startsWith('kfb_'), mode: z.enum(['stream', 's3-multipart']) }).strict(),
  })
  .strict();
