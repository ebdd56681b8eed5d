import type { SecretStore } from '../../../secrets/secret-store.js';
import type { DnsProviderConfig } from '../certificates-tables.js';
import type { Dns01Provider } from './dns01-provider.js';
import { HookProvider } from './hook-provider.js';
import { Rfc2136Provider } from './rfc2136-provider.js';
import { Tsig } from './tsig.js';

/** The hub's DNS-01 hook command (KEYFLEET_DNS01_HOOK), if it has one. */
export const dns01HookCommand = () => process.env.KEYFLEET_DNS01_HOOK || undefined;

/** The provider a certificate's row names, with its TSIG secret opened from the secret store. */
export async function createDns01Provider(config: DnsProviderConfig, secrets: SecretStore): Promise<Dns01Provider> {
  if (config.provider === 'hook') {
    const command = dns01HookCommand();
    if (!command) throw new Error('DNS-01 by hook needs the hub setting KEYFLEET_DNS01_HOOK (the command to run); this hub has none');
    return new HookProvider(command);
  }
  const name = config.secret.$secret;
  const { values, problems } = await secrets.reveal([name]);
  const secret = values.get(name);
  if (secret === undefined) throw new Error(`the TSIG secret: ${problems.get(name) ?? `secret "${name}" cannot be opened`}`);
  return new Rfc2136Provider({
    server: config.server,
    zone: config.zone,
    // TSIG secrets are written in base64 everywhere (tsig-keygen, keymgr, knsupdate -y).
    tsig: new Tsig(config.keyName, config.algorithm, Buffer.from(secret.trim(), 'base64')),
  });
}
