import { describe, expect, it } from 'vitest';
import { parseAptSimulation } from './parse-apt-simulation.js';

describe('parseAptSimulation', () => {
  it('reads each Inst line: installed and new version, archives, and whether it is a security update', () => {
    // As apt-get -s upgrade prints it on Debian 12 (trimmed).
    const out = `NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
Reading package lists...
Building dependency tree...
Calculating upgrade...
The following packages will be upgraded:
  libssl3 openssl tzdata
3 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.
Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst openssl [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian:12.5/stable, Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable-updates [all])
Inst linux-image-6.1.0-31-amd64 (6.1.128-1 Debian:12.10/stable [amd64])
Conf libssl3 (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
Conf tzdata (2025b-0+deb12u1 Debian:12.11/stable-updates [all])
`;
    expect(parseAptSimulation(out)).toEqual([
      { name: 'libssl3', from: '3.0.11-1~deb12u1', to: '3.0.11-1~deb12u2', origin: 'Debian-Security:12/stable-security', security: true },
      { name: 'openssl', from: '3.0.11-1~deb12u1', to: '3.0.11-1~deb12u2', origin: 'Debian:12.5/stable, Debian-Security:12/stable-security', security: true },
      { name: 'tzdata', from: '2024a-0+deb12u1', to: '2025b-0+deb12u1', origin: 'Debian:12.11/stable-updates', security: false },
      { name: 'linux-image-6.1.0-31-amd64', to: '6.1.128-1', origin: 'Debian:12.10/stable', security: false },
    ]);
  });

  it('is empty when nothing is upgradable', () => {
    expect(parseAptSimulation('Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n')).toEqual([]);
  });
});
