import { describe, expect, it } from 'vitest';
import { keycloakConfig } from '@keyfleet/proto/v1';
import { keycloakContainerSpec } from './keycloak-container-spec.js';

const config = keycloakConfig.parse({
  version: '26.7.4',
  runtime: 'docker',
  image: 'quay.io/keycloak/keycloak:26.7.4',
  database: { kind: 'bundled', password: { $secret: 'db', value: 'db-pass' } },
  hostname: 'https://id.example.com',
  proxyHeaders: 'xforwarded',
  bootstrapAdmin: { username: 'admin', password: { $secret: 'adm', value: 'adm-pass' } },
});
const input = {
  name: 'keyfleet-keycloak',
  image: 'keyfleet-keycloak-optimized:26.7.4-abc',
  config,
  configHash: 'h1',
  backend: { httpPort: 41000, managementPort: 41001 },
  volume: 'keyfleet-keycloak-data-a',
  bundledDbUrl: 'jdbc:postgresql://127.0.0.1:5433/keycloak',
  frontAddress: '127.0.0.1',
  instance: 'keyfleet-keycloak',
};
const env = (spec: ReturnType<typeof keycloakContainerSpec>) =>
  Object.fromEntries(spec.Env!.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

describe('keycloakContainerSpec', () => {
  it('host network: optimized start on loopback backend ports, limits, restart policy, healthcheck, labels', () => {
    const spec = keycloakContainerSpec({ ...input, networkMode: 'host' });
    expect(spec.Cmd).toEqual(['start', '--optimized']);
    expect(env(spec)).toMatchObject({
      KC_HTTP_HOST: '127.0.0.1',
      KC_HTTP_PORT: '41000',
      KC_HTTP_MANAGEMENT_PORT: '41001',
      KC_HOSTNAME: 'https://id.example.com',
      KC_PROXY_HEADERS: 'xforwarded',
      // Forwarding headers from the agent's front only: it is the one that strips what clients claim.
      KC_PROXY_TRUSTED_ADDRESSES: '127.0.0.1',
      KC_DB_URL: 'jdbc:postgresql://127.0.0.1:5433/keycloak',
      KC_DB_PASSWORD: 'db-pass',
      KC_BOOTSTRAP_ADMIN_PASSWORD: 'adm-pass',
      KC_CACHE: 'local',
    });
    expect(spec.HostConfig).toMatchObject({ NetworkMode: 'host', RestartPolicy: { Name: 'unless-stopped' }, Memory: 2048 * 1024 * 1024 });
    expect(spec.HostConfig!.PortBindings).toBeUndefined();
    expect(spec.HostConfig!.Mounts).toEqual([{ Type: 'volume', Source: 'keyfleet-keycloak-data-a', Target: '/opt/keycloak/data' }]);
    expect(spec.Healthcheck!.Test!.join(' ')).toContain('/dev/tcp/127.0.0.1/41001');
    expect(spec.Labels).toMatchObject({ 'keyfleet.managed': 'true', 'keyfleet.config-hash': 'h1' });
    // Secrets live in the environment only, never in the command line.
    expect(JSON.stringify(spec.Cmd)).not.toContain('pass');
  });

  it('user network: Keycloak keeps 8080/9000 inside, published on the host loopback only', () => {
    const spec = keycloakContainerSpec({
      ...input,
      networkMode: 'keyfleet',
      frontAddress: '172.18.0.1',
      config: { ...config, proxyHeaders: undefined, memoryLimitMb: 1024 },
    });
    expect(env(spec)).toMatchObject({
      KC_HTTP_HOST: '0.0.0.0',
      KC_HTTP_PORT: '8080',
      KC_HTTP_MANAGEMENT_PORT: '9000',
      // Behind the front Keycloak always reads X-Forwarded-*, which the front sets when nothing is in front of it.
      KC_PROXY_HEADERS: 'xforwarded',
      KC_PROXY_TRUSTED_ADDRESSES: '172.18.0.1',
    });
    expect(spec.HostConfig!.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '41000' }],
      '9000/tcp': [{ HostIp: '127.0.0.1', HostPort: '41001' }],
    });
    expect(spec.HostConfig!.Memory).toBe(1024 * 1024 * 1024);
    expect(spec.Healthcheck!.Test!.join(' ')).toContain('/dev/tcp/127.0.0.1/9000');
  });

  it('with a certificate installed: the front terminates TLS, so Keycloak gets no HTTPS port, PEM paths or mount', () => {
    const tls = {
      httpsPort: 8443,
      reloadPeriod: '1m',
      certificateFile: '/var/lib/keyfleet/keycloak/tls/certificate.pem',
      certificateKeyFile: '/var/lib/keyfleet/keycloak/tls/private-key.pem',
    };
    const spec = keycloakContainerSpec({ ...input, networkMode: 'host', config: { ...config, tls } });
    expect(Object.keys(env(spec)).filter((k) => k.startsWith('KC_HTTPS'))).toEqual([]);
    expect(env(spec)).toMatchObject({ KC_HTTP_ENABLED: 'true', KC_PROXY_HEADERS: 'xforwarded', KC_PROXY_TRUSTED_ADDRESSES: '127.0.0.1' });
    expect(spec.HostConfig!.Mounts).toHaveLength(1);
  });
});
