import { describe, expect, it } from 'vitest';
import { keycloakConfig } from '@keyfleet/proto/v1';
import type { KeycloakInstanceRecord } from './instance-store.js';
import { withInstalledCertificate } from './with-installed-certificate.js';

const asked = keycloakConfig.parse({
  version: '26.7.4',
  runtime: 'docker',
  image: 'kc:26.7.4',
  database: { kind: 'dev-file' },
  hostname: 'https://id.example.com',
  bootstrapAdmin: { username: 'admin', password: { $secret: 'a', value: 'x' } },
  tls: { httpsPort: 443 },
});
const files = { certificateFile: '/s/keycloak/tls/certificate.pem', certificateKeyFile: '/s/keycloak/tls/private-key.pem' };
const previous = { config: { ...asked, tls: { ...asked.tls!, ...files } } } as KeycloakInstanceRecord;

describe('withInstalledCertificate', () => {
  it('keeps the installed certificate when the config is applied again, with what the operator changed', () => {
    const again = withInstalledCertificate({ ...asked, tls: { ...asked.tls!, httpEnabled: true } }, previous);
    expect(again.tls).toEqual({ httpsPort: 443, reloadPeriod: '1m', httpEnabled: true, ...files });
  });

  it('leaves a config without tls (HTTPS off) and a first install alone', () => {
    const { tls: _none, ...plain } = asked;
    expect(withInstalledCertificate(plain, previous).tls).toBeUndefined();
    expect(withInstalledCertificate(asked, undefined)).toBe(asked);
  });
});
