import { createHash } from 'node:crypto';
import acme from 'acme-client';
import type { SecretStore } from '../../secrets/secret-store.js';

/** One ACME account per hub fleet and directory; the secret's name says which directory. */
export const acmeAccountSecretName = (directoryUrl: string) => `tls.acme-account.${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}`;

// The certificate scheduler owns retries (doubling backoff, each failure recorded on the row), so
// acme-client's own network retries are kept short: by default a CA that is down holds one
// attempt for 75 s (5 retries, 5-25 s apart) before the row says anything. Retry-After is still honoured.
Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 2, retryDefaultDelay: 2 });

interface StoredAccount {
  accountKey: string;
  accountUrl: string;
}

/**
 * An acme-client for `directoryUrl` with this fleet's account. Its key is made once and kept
 * sealed in the hub's secret store (never in a log, a result or the database in clear), with the
 * account URL: registering again with an existing key makes acme-client send an empty update,
 * which CAs refuse.
 */
export async function acmeClient(secrets: SecretStore, directoryUrl: string): Promise<acme.Client> {
  const name = acmeAccountSecretName(directoryUrl);
  const stored = (await secrets.reveal([name])).values.get(name);
  if (stored) {
    const account = JSON.parse(stored) as StoredAccount;
    return new acme.Client({ directoryUrl, accountKey: account.accountKey, accountUrl: account.accountUrl });
  }
  const accountKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  const client = new acme.Client({ directoryUrl, accountKey });
  await client.createAccount({ termsOfServiceAgreed: true });
  await secrets.put(name, JSON.stringify({ accountKey, accountUrl: client.getAccountUrl() } satisfies StoredAccount), 'tls');
  return client;
}
