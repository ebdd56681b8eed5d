import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookProvider } from './hook-provider.js';

describe('the DNS-01 hook provider', () => {
  let dir: string;
  const script = async (name: string, body: string) => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-dns01-hook-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('calls the command with the action, domain, record name and value, as arguments and variables', async () => {
    const log = join(dir, 'calls');
    const hook = new HookProvider(
      await script('ok.sh', `echo "$@ | $KEYFLEET_DNS01_ACTION $KEYFLEET_DNS01_DOMAIN $KEYFLEET_DNS01_RECORD $KEYFLEET_DNS01_VALUE" >> ${log}`),
    );
    await hook.present('id.example.com', '_acme-challenge.id.example.com', 'abc');
    await hook.cleanup('id.example.com', '_acme-challenge.id.example.com', 'abc');
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual([
      'present id.example.com _acme-challenge.id.example.com abc | present id.example.com _acme-challenge.id.example.com abc',
      'cleanup id.example.com _acme-challenge.id.example.com abc | cleanup id.example.com _acme-challenge.id.example.com abc',
    ]);
  });

  it('a failing command fails the step with its exit code and what it said', async () => {
    const hook = new HookProvider(await script('fail.sh', 'echo "zone api: 403 forbidden" >&2; exit 3'));
    await expect(hook.present('id.example.com', '_acme-challenge.id.example.com', 'abc')).rejects.toThrow(
      /the DNS-01 hook .*fail\.sh present _acme-challenge\.id\.example\.com exited 3: zone api: 403 forbidden/,
    );
  });

  it('a command that hangs is stopped at the timeout; a missing one says so', async () => {
    const hook = new HookProvider(await script('hang.sh', 'exec sleep 30'), 1_000);
    await expect(hook.present('a.example.com', '_acme-challenge.a.example.com', 'v')).rejects.toThrow(/did not finish within 1 s/);
    await expect(new HookProvider(join(dir, 'absent.sh')).present('a', 'b', 'c')).rejects.toThrow(/absent\.sh present b could not run \(ENOENT\)/);
  });
});
