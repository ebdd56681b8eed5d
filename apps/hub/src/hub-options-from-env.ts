import { readFile } from 'node:fs/promises';
import { AGENT_LIMITS, NatsAuthority } from '@keyfleet/nats-auth';
import type { HubOptions } from './hub.js';
import { refuseRenamedEnv } from './refuse-renamed-env.js';
import { parseSecretKey } from './secrets/parse-secret-key.js';

const list = (v: string | undefined): string[] | undefined => {
  const items = v
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items && items.length > 0 ? items : undefined;
};

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Hub options from the environment `keyfleet-hub serve` documents:
 * KEYFLEET_DATABASE_URL, KEYFLEET_DATA_DIR, KEYFLEET_HTTP_PORT (7420), KEYFLEET_HTTP_HOST
 * (127.0.0.1), KEYFLEET_NATS_URL (comma-separated; nats://127.0.0.1:4222), KEYFLEET_NATS_CREDS (file),
 * KEYFLEET_NATS_CA (file), KEYFLEET_NATS_AUTH_DIR or KEYFLEET_NATS_ACCOUNT +
 * KEYFLEET_NATS_SIGNING_SEED + KEYFLEET_NATS_OPERATOR_SIGNING_SEED +
 * KEYFLEET_NATS_REVOCATION_CREDS (file), KEYFLEET_NATS_PUBLIC_URL (comma-separated),
 * KEYFLEET_AGENT_DATA_RATE / KEYFLEET_AGENT_DATA_BURST (bytes per second / at once per agent),
 * KEYFLEET_SECRET_KEY (32 bytes, base64 or hex; default: a key file in the data dir).
 */
export async function hubOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<HubOptions> {
  refuseRenamedEnv(env);
  let authority: NatsAuthority;
  if (env.KEYFLEET_NATS_AUTH_DIR) {
    authority = await NatsAuthority.load(env.KEYFLEET_NATS_AUTH_DIR).catch((err: unknown) => {
      throw new Error(`cannot load the NATS authority from KEYFLEET_NATS_AUTH_DIR=${env.KEYFLEET_NATS_AUTH_DIR}: ${(err as Error).message}`, { cause: err });
    });
  } else if (env.KEYFLEET_NATS_ACCOUNT && env.KEYFLEET_NATS_SIGNING_SEED) {
    // A hub must be able to take credentials back (decommission, revoke), not only hand them out.
    if (!env.KEYFLEET_NATS_OPERATOR_SIGNING_SEED || !env.KEYFLEET_NATS_REVOCATION_CREDS) {
      throw new Error(
        'KEYFLEET_NATS_ACCOUNT and KEYFLEET_NATS_SIGNING_SEED also need KEYFLEET_NATS_OPERATOR_SIGNING_SEED (operatorSigningSeed of keys.json) and KEYFLEET_NATS_REVOCATION_CREDS (a file written by `keyfleet-hub nats-init`), so the hub can revoke agent credentials',
      );
    }
    authority = NatsAuthority.fromSigningSeed(env.KEYFLEET_NATS_ACCOUNT, env.KEYFLEET_NATS_SIGNING_SEED, {
      operatorSigningSeed: env.KEYFLEET_NATS_OPERATOR_SIGNING_SEED,
      creds: await readSecretFile(env.KEYFLEET_NATS_REVOCATION_CREDS, 'NATS revocation creds file (KEYFLEET_NATS_REVOCATION_CREDS)'),
    });
  } else {
    throw new Error(
      'no NATS authority: set KEYFLEET_NATS_AUTH_DIR (a dir made by `keyfleet-hub nats-init`) or KEYFLEET_NATS_ACCOUNT and KEYFLEET_NATS_SIGNING_SEED',
    );
  }

  const port = Number(env.KEYFLEET_HTTP_PORT ?? 7420);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`KEYFLEET_HTTP_PORT must be a port number, got "${env.KEYFLEET_HTTP_PORT}"`);
  const natsUrls = list(env.KEYFLEET_NATS_URL) ?? ['nats://127.0.0.1:4222'];
  const bytes = (name: string, fallback: number) => {
    const n = Number(env[name] ?? fallback);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive number of bytes, got "${env[name]}"`);
    return n;
  };
  const agentDataRate = {
    data: bytes('KEYFLEET_AGENT_DATA_RATE', AGENT_LIMITS.data),
    dataBurstBytes: bytes('KEYFLEET_AGENT_DATA_BURST', AGENT_LIMITS.dataBurstBytes),
  };

  return {
    port,
    host: env.KEYFLEET_HTTP_HOST || '127.0.0.1',
    databaseUrl: env.KEYFLEET_DATABASE_URL || undefined,
    dataDir: env.KEYFLEET_DATA_DIR || undefined,
    secretKey: env.KEYFLEET_SECRET_KEY ? parseSecretKey(env.KEYFLEET_SECRET_KEY, 'KEYFLEET_SECRET_KEY') : undefined,
    natsUrls,
    authority,
    natsCreds: env.KEYFLEET_NATS_CREDS ? await readSecretFile(env.KEYFLEET_NATS_CREDS, 'NATS creds file (KEYFLEET_NATS_CREDS)') : undefined,
    natsCaFile: env.KEYFLEET_NATS_CA || undefined,
    natsPublicUrls: list(env.KEYFLEET_NATS_PUBLIC_URL),
    dispatcher: { agentDataRate },
  };
}
