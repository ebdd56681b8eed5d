import { describe, expect, it } from 'vitest';
import { keycloakConfig } from '@keyfleet/proto/v1';
import { configHash } from './config-hash.js';

const base = keycloakConfig.parse({
  version: '26.7.4',
  runtime: 'process',
  distUrl: '/tmp/kc.tar.gz',
  database: { kind: 'dev-file' },
  hostname: 'https://id.example.com',
  bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin', value: 'hunter2-secret' } },
});

describe('configHash', () => {
  it('is the same for the same config whatever the key order', () => {
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as typeof base;
    expect(configHash(reordered)).toBe(configHash(base));
  });

  it('changes with a setting or a secret value, never reveals the secret', () => {
    expect(configHash({ ...base, features: ['docker'] })).not.toBe(configHash(base));
    const otherPassword = { ...base, bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin', value: 'other' } } };
    expect(configHash(otherPassword)).not.toBe(configHash(base));
    expect(configHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores verifyLogin: how verify logs in changes nothing in Keycloak', () => {
    const withLogin = { ...base, verifyLogin: { grant: 'client_credentials' as const, realm: 'r', clientId: 'c', clientSecret: { $secret: 's', value: 'v' } } };
    expect(configHash(withLogin)).toBe(configHash(base));
  });

  it('ignores the certificate files the tls feature fills in, not what the operator asked for TLS', () => {
    const asked = { ...base, tls: { httpsPort: 8443, reloadPeriod: '1m' } };
    const installed = {
      ...asked,
      tls: { ...asked.tls, certificateFile: '/s/keycloak/tls/certificate.pem', certificateKeyFile: '/s/keycloak/tls/private-key.pem' },
    };
    expect(configHash(installed)).toBe(configHash(asked));
    expect(configHash({ ...asked, tls: { ...asked.tls, httpEnabled: true } })).not.toBe(configHash(asked));
    expect(configHash(asked)).not.toBe(configHash(base));
  });

  it('ignores the certificate the config asks the hub for: asking for one restarts no Keycloak', () => {
    const asked = { ...base, tls: { httpsPort: 8443, reloadPeriod: '1m' } };
    const certificate = { domains: ['id.example.com'], issuer: 'acme' as const, keyType: 'ecdsa-p256' as const, http01Port: 80 };
    expect(configHash({ ...asked, tls: { ...asked.tls, certificate } })).toBe(configHash(asked));
  });
});
