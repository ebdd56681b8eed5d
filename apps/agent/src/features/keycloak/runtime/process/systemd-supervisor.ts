import { mkdir, realpath, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../../../write-file-atomic.js';
import type { KeycloakSupervisor, SupervisedLaunch, SupervisedStatus } from './keycloak-supervisor.js';
import { runCommand } from './run-command.js';
import { SYSTEMD_UNIT_NAME, systemdUnit } from './systemd-unit.js';

export interface SystemdSupervisorOptions {
  /** Written before each start; 0600, read by systemd as root. */
  environmentFile: string;
  unitDir?: string;
  /** The unprivileged account Keycloak runs as; created when missing. */
  user?: string;
  /** Default keycloak-keyfleet.service; one per slot, so an update runs the new Keycloak beside the old one. */
  unitName?: string;
  memoryLimitMb?: number;
}

/** systemd's EnvironmentFile syntax: double quotes, with backslash and quote escaped. */
const envLine = (name: string, value: string) => `${name}="${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;

async function systemctl(...args: string[]): Promise<string> {
  const res = await runCommand('systemctl', args, { timeoutMs: 120_000 });
  if (res.code !== 0) throw new Error(`systemctl ${args.join(' ')} failed (exit ${res.code}): ${res.output.trim().slice(-500)}`);
  return res.output;
}

/** Runs Keycloak as the systemd service keycloak-keyfleet.service under an unprivileged user (real hosts). */
export class SystemdSupervisor implements KeycloakSupervisor {
  readonly kind = 'systemd';
  private readonly unitDir: string;
  private readonly user: string;
  private readonly unit: string;

  constructor(private readonly opts: SystemdSupervisorOptions) {
    this.unitDir = opts.unitDir ?? '/etc/systemd/system';
    this.user = opts.user ?? 'keycloak';
    this.unit = opts.unitName ?? SYSTEMD_UNIT_NAME;
  }

  private async ensureUser(installDir: string): Promise<void> {
    if ((await runCommand('id', ['-u', this.user])).code === 0) return;
    const res = await runCommand('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      installDir,
      '--shell',
      '/usr/sbin/nologin',
      this.user,
    ]);
    if (res.code !== 0) throw new Error(`useradd ${this.user} failed: ${res.output.trim()}`);
  }

  async start(launch: SupervisedLaunch): Promise<void> {
    await this.ensureUser(launch.installDir);
    // Keycloak writes lib/quarkus (re-augmentation) and its data dir; both must belong to its user.
    const dataDir = await realpath(join(launch.installDir, 'data'));
    for (const dir of [launch.installDir, dataDir]) {
      const res = await runCommand('chown', ['-R', `${this.user}:${this.user}`, dir]);
      if (res.code !== 0) throw new Error(`chown ${dir} failed: ${res.output.trim()}`);
    }
    const env = { JAVA_HOME: launch.javaHome, ...launch.env };
    await mkdir(dirname(this.opts.environmentFile), { recursive: true, mode: 0o700 });
    await writeFileAtomic(
      this.opts.environmentFile,
      `${Object.entries(env)
        .map(([k, v]) => envLine(k, v))
        .join('\n')}\n`,
      0o600,
    );
    const unit = systemdUnit({
      installDir: launch.installDir,
      environmentFile: this.opts.environmentFile,
      user: this.user,
      memoryLimitMb: this.opts.memoryLimitMb,
    });
    await writeFileAtomic(join(this.unitDir, this.unit), unit, 0o644);
    await systemctl('daemon-reload');
    await systemctl('enable', this.unit);
    await systemctl('restart', this.unit);
  }

  async stop(): Promise<boolean> {
    const was = (await this.status()).running;
    await systemctl('stop', this.unit);
    return was;
  }

  async status(): Promise<SupervisedStatus> {
    const res = await runCommand('systemctl', ['show', this.unit, '--property=ActiveState,MainPID,ActiveEnterTimestamp']);
    const props = Object.fromEntries(res.output.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    // A unit restarting after a crash is "activating", not "active": not running for anyone waiting on it.
    const running = props.ActiveState === 'active';
    const startedAt = props.ActiveEnterTimestamp ? new Date(props.ActiveEnterTimestamp) : undefined;
    return running
      ? { running, pid: Number(props.MainPID) || undefined, startedAt: startedAt && !Number.isNaN(startedAt.getTime()) ? startedAt : undefined }
      : { running: false };
  }

  async logs(lines: number): Promise<string> {
    const res = await runCommand('journalctl', ['-u', this.unit, '-n', String(lines), '--no-pager', '-o', 'cat']);
    return res.output;
  }

  async remove(): Promise<void> {
    await runCommand('systemctl', ['disable', '--now', this.unit]);
    await rm(join(this.unitDir, this.unit), { force: true });
    await rm(this.opts.environmentFile, { force: true });
    await systemctl('daemon-reload');
  }
}
