import { createHash, createPublicKey, X509Certificate } from 'node:crypto';

/** A key provider component's config as Keycloak stores it (component_config rows). */
export type KeyProviderConfig = Record<string, string>;

/**
 * The `kid` Keycloak gives a key pair: base64url(sha256(the public key's X.509 SubjectPublicKeyInfo)),
 * as its KeyUtils.createKeyId does. Derived from the stored keys, so a restored database can be
 * checked against the JWKS of the backed-up Keycloak without starting one; a `kid` set explicitly
 * in the config wins.
 */
export function kidOf(config: KeyProviderConfig): string | undefined {
  if (config.kid) return config.kid;
  let spki: Buffer | undefined;
  try {
    if (config.certificate) {
      const pem = `-----BEGIN CERTIFICATE-----\n${config.certificate.replace(/\s+/g, '')}\n-----END CERTIFICATE-----`;
      spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    } else {
      const pub = config.ecdsaPublicKey ?? config.eddsaPublicKey ?? config.ecdhPublicKey ?? config.publicKey;
      if (pub) spki = createPublicKey({ key: Buffer.from(pub, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' });
    }
  } catch {
    return undefined;
  }
  return spki ? createHash('sha256').update(spki).digest('base64url') : undefined;
}
