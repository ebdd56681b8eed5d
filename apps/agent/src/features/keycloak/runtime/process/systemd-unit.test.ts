import { describe, expect, it } from 'vitest';
import { systemdUnit } from './systemd-unit.js';

describe('systemdUnit', () => {
  it('runs the built dist optimized as the unprivileged user, secrets only through the environment file', () => {
    const unit = systemdUnit({
      installDir: '/opt/keyfleet/keycloak/26.7.4-abc',
      environmentFile: '/var/lib/keyfleet-agent/keycloak/keycloak.env',
      user: 'keycloak',
      memoryLimitMb: 2048,
    });
    expect(unit).toContain('ExecStart=/opt/keyfleet/keycloak/26.7.4-abc/bin/kc.sh start --optimized\n');
    expect(unit).toContain('EnvironmentFile=/var/lib/keyfleet-agent/keycloak/keycloak.env\n');
    expect(unit).toMatch(/^User=keycloak$/m);
    expect(unit).toMatch(/^MemoryMax=2048M$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^WantedBy=multi-user.target$/m);
    expect(unit).not.toMatch(/PASSWORD|KC_/);
    // Sections in order, so systemd reads every key where it belongs.
    expect(unit.indexOf('[Unit]')).toBeLessThan(unit.indexOf('[Service]'));
    expect(unit.indexOf('[Service]')).toBeLessThan(unit.indexOf('[Install]'));
  });

  it('leaves memory unlimited unless a limit is configured', () => {
    expect(systemdUnit({ installDir: '/x', environmentFile: '/e', user: 'keycloak' })).not.toContain('MemoryMax');
  });
});
