import type Docker from 'dockerode';
import type { PortPair } from '../../front/keycloak-front.js';
import { keycloakEnv } from '../keycloak-env.js';
import type { KeycloakConfig } from '../../keycloak-types.js';

export interface KeycloakContainerInput {
  name: string;
  /** The optimized image (kc.sh build already run for this config's build options). */
  image: string;
  config: KeycloakConfig;
  configHash: string;
  /** `host` (default) or a user-defined network. */
  networkMode: string;
  /** Loopback ports on the host the agent's front forwards to. */
  backend: PortPair;
  /** Holds /opt/keycloak/data: the dev-file database, transaction logs. */
  volume: string;
  /** JDBC URL of the bundled database as this container reaches it. */
  bundledDbUrl?: string;
  /** Where the front's connections come from as this container sees them: the only source of forwarding headers Keycloak trusts. */
  frontAddress: string;
  /** Names the Keycloak installation these containers belong to (the container name prefix). */
  instance: string;
}

const DEFAULT_MEMORY_MB = 2048;
const SECOND_NS = 1_000_000_000;

/**
 * The create options of a Keycloak container: `start --optimized`, runtime options in the
 * environment, a memory limit (the JVM sizes its heap to it), restart unless stopped, a
 * healthcheck against /health/ready and only loopback ports, since the agent's front is
 * what the world talks to. With host networking (no bridge on the host) Keycloak binds the
 * backend ports on the host's loopback; on a user network it keeps 8080/9000 inside and
 * those are published on the host's loopback.
 */
export function keycloakContainerSpec(i: KeycloakContainerInput): Docker.ContainerCreateOptions {
  const host = i.networkMode === 'host';
  const inside = host ? i.backend : { httpPort: 8080, managementPort: 9000 };
  const env = keycloakEnv(i.config, {
    httpHost: host ? '127.0.0.1' : '0.0.0.0',
    httpPort: inside.httpPort,
    managementPort: inside.managementPort,
    bundledDbUrl: i.bundledDbUrl,
    frontAddress: i.frontAddress,
  });
  const probe = `exec 3<>/dev/tcp/127.0.0.1/${inside.managementPort} && printf 'GET /health/ready HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && grep -q '"UP"' <&3`;
  return {
    name: i.name,
    Image: i.image,
    Cmd: ['start', '--optimized'],
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { 'keyfleet.managed': 'true', 'keyfleet.instance': i.instance, 'keyfleet.role': 'keycloak', 'keyfleet.config-hash': i.configHash },
    // The official image has bash but no curl: /dev/tcp is the probe it allows.
    Healthcheck: { Test: ['CMD', 'bash', '-c', probe], Interval: 15 * SECOND_NS, Timeout: 5 * SECOND_NS, Retries: 3, StartPeriod: 300 * SECOND_NS },
    ...(host ? {} : { ExposedPorts: { [`${inside.httpPort}/tcp`]: {}, [`${inside.managementPort}/tcp`]: {} } }),
    HostConfig: {
      NetworkMode: i.networkMode,
      RestartPolicy: { Name: 'unless-stopped' },
      Memory: (i.config.memoryLimitMb ?? DEFAULT_MEMORY_MB) * 1024 * 1024,
      Mounts: [{ Type: 'volume', Source: i.volume, Target: '/opt/keycloak/data' }],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '50m', 'max-file': '3' } },
      ...(host
        ? {}
        : {
            PortBindings: {
              [`${inside.httpPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(i.backend.httpPort) }],
              [`${inside.managementPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(i.backend.managementPort) }],
            },
          }),
    },
  };
}
