import { chmod, chown, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { commandRunner, mustRun } from '../command-runner.js';

export const AGENT_UID = 990;
export const STATE_DIR = '/var/lib/keyfleet-agent';

/**
 * A temp root laid out like a Debian Keycloak host as the agent leaves it, with the usual
 * slips: the agent's state dir and Keycloak's config world-readable, the TLS key 0644, the
 * Keycloak config owned by root, sshd allowing root and passwords, unattended-upgrades installed
 * but its timers' settings off. `admin` has an authorized key.
 */
export async function debianRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kf-hardening-root-'));
  const file = async (path: string, text: string, mode: number, uid = 0) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
    await chmod(join(root, path), mode);
    await chown(join(root, path), uid, 0);
  };
  await file(
    'etc/passwd',
    [
      'root:x:0:0:root:/root:/bin/bash',
      'sshd:x:101:65534::/run/sshd:/usr/sbin/nologin',
      `keyfleet-agent:x:${AGENT_UID}:${AGENT_UID}::${STATE_DIR}:/usr/sbin/nologin`,
      'admin:x:1000:1000::/home/admin:/bin/bash',
      '',
    ].join('\n'),
    0o644,
  );
  await file(
    'etc/ssh/sshd_config',
    `Include ${root}/etc/ssh/sshd_config.d/*.conf\nHostKey ${root}/etc/ssh/ssh_host_ed25519_key\nPermitRootLogin yes\nPasswordAuthentication yes\nPidFile none\n`,
    0o644,
  );
  await mkdir(join(root, 'etc/ssh/sshd_config.d'), { recursive: true });
  await mustRun(commandRunner, 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host', '-f', join(root, 'etc/ssh/ssh_host_ed25519_key')]);
  await file('home/admin/.ssh/authorized_keys', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkLsM2Zm5v1gx0J0XrjP8OQn0b1uxTZPjWg6ZkqZ5wT admin@laptop\n', 0o600, 1000);
  await mkdir(join(root, 'etc/sysctl.d'), { recursive: true });
  await mkdir(join(root, 'etc/apt/apt.conf.d'), { recursive: true });
  await file(
    'var/lib/dpkg/status',
    'Package: apt\nStatus: install ok installed\nVersion: 2.6.1\n\nPackage: unattended-upgrades\nStatus: install ok installed\nVersion: 2.9.1+nmu3\n',
    0o644,
  );
  const state = join(root, STATE_DIR);
  await mkdir(join(state, 'keycloak/tls'), { recursive: true });
  await chmod(state, 0o755);
  await chown(state, AGENT_UID, AGENT_UID);
  await file(
    `${STATE_DIR}/keycloak/instance.json`,
    JSON.stringify({ runtime: 'process', version: '26.4.7', process: { installDir: '/opt/keyfleet/keycloak/a', supervisor: 'child', javaHome: '/usr' } }),
    0o644,
    AGENT_UID,
  );
  await file(`${STATE_DIR}/keycloak/tls/private-key.pem`, '-----BEGIN PRIVATE KEY-----\n', 0o644, AGENT_UID);
  await file(`${STATE_DIR}/keycloak/tls/certificate.pem`, '-----BEGIN CERTIFICATE-----\n', 0o644, AGENT_UID);
  await file('opt/keyfleet/keycloak/a/conf/keycloak.conf', 'db-password=hunter2\n', 0o644, 0);
  return root;
}
