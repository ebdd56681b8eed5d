import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdentityChoice } from './read-identity-file.js';

describe('readIdentityChoice', () => {
  let dir: string;
  const key = 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ7ZJ0S6';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-identity-file-'));
    await writeFile(join(dir, 'key.txt'), `# created: 2026-12-01T00:00:00Z\n# public key: age1xyz\n${key}\n`);
    await writeFile(join(dir, 'public.txt'), 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sends only the identity lines of an age-keygen file, never its comments', async () => {
    expect(await readIdentityChoice({ identityFile: join(dir, 'key.txt') })).toEqual({ identity: key });
    expect(await readIdentityChoice({ identityFile: '-' }, Readable.from([`${key}\n`]))).toEqual({ identity: key });
    expect(await readIdentityChoice({ identitySecret: 'dr-key' })).toEqual({ identitySecret: 'dr-key' });
  });

  it('refuses neither or both, an unreadable file and a file without an identity, naming the file only', async () => {
    await expect(readIdentityChoice({})).rejects.toThrow(/^give one of --identity-secret/);
    await expect(readIdentityChoice({ identitySecret: 'a', identityFile: 'b' })).rejects.toThrow(/^give one of/);
    await expect(readIdentityChoice({ identityFile: join(dir, 'missing.txt') })).rejects.toThrow(
      `cannot read the identity file ${join(dir, 'missing.txt')}: ENOENT`,
    );
    const err = await readIdentityChoice({ identityFile: join(dir, 'public.txt') }).catch((e: Error) => e);
    expect((err as Error).message).toBe(`${join(dir, 'public.txt')} holds no age identity (a line AGE-SECRET-KEY-1…, as age-keygen writes it)`);
    expect((err as Error).message).not.toContain('age1ql3z');
  });
});
