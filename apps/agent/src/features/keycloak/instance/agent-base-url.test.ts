import { describe, expect, it } from 'vitest';
import { keycloakConfig } from '@keyfleet/proto/v1';
import { agentBaseUrl } from './agent-base-url.js';

const config = keycloakConfig.parse({
  version: '26.7.4',
  runtime: 'process',
  distUrl: '/kc.tar.gz',
  database: { kind: 'dev-file' },
  hostname: 'https://id.example.com',
  httpPort: 8080,
  bootstrapAdmin: { username: 'admin', password: { $secret: 'a', value: 'x' } },
});
const behindFront = {
  runtime: 'process' as const,
  process: { installDir: '/kc', supervisor: 'child' as const, javaHome: '/jdk', slot: 'a' as const, backendHttpPort: 41000, backendManagementPort: 41001 },
};
const installed = { ...config, tls: { httpsPort: 8443, reloadPeriod: '1m', certificateFile: '/c.pem', certificateKeyFile: '/k.pem' } };

describe('agentBaseUrl', () => {
  it('is the public HTTP port while it serves, the loopback backend once HTTPS closed it', () => {
    expect(agentBaseUrl(config, behindFront)).toBe('http://127.0.0.1:8080');
    expect(agentBaseUrl({ ...config, tls: { httpsPort: 8443, reloadPeriod: '1m' } }, behindFront)).toBe('http://127.0.0.1:8080');
    expect(agentBaseUrl(installed, behindFront)).toBe('http://127.0.0.1:41000');
    expect(agentBaseUrl({ ...installed, tls: { ...installed.tls, httpEnabled: true } }, behindFront)).toBe('http://127.0.0.1:8080');
  });

  it('is the public HTTP port of a Keycloak without a front, which keeps HTTP on', () => {
    expect(agentBaseUrl(installed, { runtime: 'process', process: { installDir: '/kc', supervisor: 'child', javaHome: '/jdk' } })).toBe(
      'http://127.0.0.1:8080',
    );
  });
});
