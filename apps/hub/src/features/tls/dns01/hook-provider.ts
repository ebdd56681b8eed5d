import { execFile } from 'node:child_process';
import type { Dns01Provider } from './dns01-provider.js';

/** A hook may wait for its DNS to propagate (minutes at some providers), never forever. */
const HOOK_TIMEOUT_MS = 10 * 60_000;

/**
 * DNS-01 through an operator's script, for DNS providers with an API instead of RFC 2136:
 * `<command> present|cleanup <domain> <record name> <value>` (also in KEYFLEET_DNS01_* variables).
 * Exit 0 means done: for `present`, that the record is visible to the CA. The command is the hub's
 * setting (KEYFLEET_DNS01_HOOK), never a request's, so an API token cannot run programs on the hub.
 */
export class HookProvider implements Dns01Provider {
  readonly description: string;

  constructor(
    private readonly command: string,
    private readonly timeoutMs = HOOK_TIMEOUT_MS,
  ) {
    this.description = `hook ${command}`;
  }

  present(domain: string, recordName: string, value: string, signal?: AbortSignal): Promise<void> {
    return this.run('present', domain, recordName, value, signal);
  }

  cleanup(domain: string, recordName: string, value: string, signal?: AbortSignal): Promise<void> {
    return this.run('cleanup', domain, recordName, value, signal);
  }

  private run(action: 'present' | 'cleanup', domain: string, recordName: string, value: string, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile(
        this.command,
        [action, domain, recordName, value],
        {
          timeout: this.timeoutMs,
          signal,
          env: { ...process.env, KEYFLEET_DNS01_ACTION: action, KEYFLEET_DNS01_DOMAIN: domain, KEYFLEET_DNS01_RECORD: recordName, KEYFLEET_DNS01_VALUE: value },
          maxBuffer: 1024 * 1024,
        },
        (err, _stdout, stderr) => {
          if (!err) return resolve();
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          const why = e.killed
            ? `did not finish within ${Math.round(this.timeoutMs / 1000)} s`
            : typeof e.code === 'number'
              ? `exited ${e.code}`
              : `could not run (${e.code ?? e.message})`;
          const said = stderr.trim().split('\n').slice(-5).join(' | ').slice(0, 1000);
          reject(new Error(`the DNS-01 hook ${this.command} ${action} ${recordName} ${why}${said ? `: ${said}` : ''}`));
        },
      );
    });
  }
}
