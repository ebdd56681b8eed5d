import { describe, expect, it } from 'vitest';
import { keycloakConfig } from '@keyfleet/proto/v1';
import { TaskFailure } from '../../../task-failure.js';
import { checkKeycloakConfig } from './check-keycloak-config.js';

const valid = {
  version: '26.7.4',
  runtime: 'process',
  distUrl: 'https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/26.7.4/keycloak-quarkus-dist-26.7.4.tar.gz',
  database: { kind: 'dev-file' },
  hostname: 'id.example.com',
  bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin', value: 'pw' } },
};
const failure = (input: Record<string, unknown>) => {
  try {
    checkKeycloakConfig(keycloakConfig.parse(input));
  } catch (err) {
    return err as TaskFailure;
  }
  throw new Error('expected the config to be refused');
};

describe('checkKeycloakConfig', () => {
  it('accepts a complete config', () => {
    expect(() => checkKeycloakConfig(keycloakConfig.parse(valid))).not.toThrow();
  });

  it('refuses, as invalid input, a secret the hub did not resolve', () => {
    const err = failure({ ...valid, bootstrapAdmin: { username: 'admin', password: { $secret: 'kc-admin' } } });
    expect(err).toBeInstanceOf(TaskFailure);
    expect(err.code).toBe('invalid_input');
    expect(err.message).toBe('secret kc-admin was not resolved by the hub');
  });

  it('refuses what the runtime cannot do', () => {
    expect(failure({ ...valid, distUrl: undefined }).message).toMatch(/process runtime needs distUrl/);
    expect(failure({ ...valid, distUrl: 'relative/kc.tar.gz' }).message).toMatch(/absolute path/);
    expect(failure({ ...valid, database: { kind: 'bundled', password: { $secret: 'db', value: 'x' } } }).message).toMatch(
      /bundled database needs the docker runtime/,
    );
    expect(failure({ ...valid, runtime: 'docker' }).message).toMatch(/docker runtime needs image/);
    expect(failure({ ...valid, httpPort: 9000 }).message).toMatch(/httpPort and managementPort must differ/);
  });
});
