import { describe, expect, it } from 'vitest';
import { liveFigures } from './host-top-row.js';

const s = (name: string, labels: Record<string, string>, ...values: number[]) => ({ name, labels, points: values.map((v, i) => [i, v] as [number, number]) });

describe('liveFigures', () => {
  it('takes the newest gauge: memory and the fullest disk as percentages, p95 in ms; login rates averaged, per minute, summed over realms', () => {
    expect(
      liveFigures([
        s('kf_host_cpu_percent', {}, 10, 42),
        s('kf_host_memory_used_bytes', {}, 3e9),
        s('kf_host_memory_total_bytes', {}, 4e9),
        s('kf_host_disk_used_bytes', { mount: '/' }, 50),
        s('kf_host_disk_size_bytes', { mount: '/' }, 100),
        s('kf_host_disk_used_bytes', { mount: '/var' }, 90),
        s('kf_host_disk_size_bytes', { mount: '/var' }, 100),
        s('kf_keycloak_logins_total', { realm: 'a' }, 5, 1),
        s('kf_keycloak_logins_total', { realm: 'b' }, 0.5),
        s('kf_keycloak_login_failures_total', { realm: 'a', error: 'invalid_user_credentials' }, 0.25),
        s('kf_keycloak_http_p95_seconds', {}, 0.123),
      ]),
    ).toEqual({ cpuPercent: 42, memoryPercent: 75, diskPercent: 90, loginsPerMin: 210, failuresPerMin: 15, p95Ms: 123 });
  });

  it('leaves out what the host does not report (no Keycloak, a single sample has no rate yet)', () => {
    expect(liveFigures([s('kf_host_cpu_percent', {}, 3), s('kf_keycloak_logins_total', { realm: 'a' })])).toEqual({
      cpuPercent: 3,
      memoryPercent: undefined,
      diskPercent: undefined,
      loginsPerMin: undefined,
      failuresPerMin: undefined,
      p95Ms: undefined,
    });
  });
});
