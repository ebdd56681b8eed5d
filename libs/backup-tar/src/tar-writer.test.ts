import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { promisify } from 'node:util';
import { Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, describe, expect, it } from 'vitest';
import { TarWriter } from './tar-writer.js';

const run = promisify(execFile);

describe('TarWriter → age-encryption', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('makes a tar that the stock age CLI decrypts and stock tar unpacks, entries in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kf-tar-age-'));
    dirs.push(dir);
    const identity = await generateX25519Identity();
    await writeFile(join(dir, 'key.txt'), `${identity}\n`);
    await writeFile(join(dir, 'source.conf'), 'a=1\n');
    const tar = new TarWriter();
    const encrypter = new Encrypter();
    encrypter.addRecipient(await identityToRecipient(identity));
    const ciphertext = await encrypter.encrypt(tar.stream());
    const written = pipeline(Readable.fromWeb(ciphertext as never), createWriteStream(join(dir, 'out.tar.age')));
    const digest = await tar.addFile('keycloak/conf/keycloak.conf', join(dir, 'source.conf'), 4, 0o600);
    await tar.add('database/keycloak.dump.00000', Buffer.alloc(100_000, 7));
    await tar.add('manifest.json', Buffer.from('{}\n'));
    tar.finish();
    await written;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const { stdout } = await run('bash', ['-c', `set -o pipefail; age -d -i ${dir}/key.txt ${dir}/out.tar.age | tar -t`]);
    expect(stdout.trim().split('\n')).toEqual(['keycloak/conf/keycloak.conf', 'database/keycloak.dump.00000', 'manifest.json']);
    await run('bash', ['-c', `set -o pipefail; mkdir ${dir}/x && age -d -i ${dir}/key.txt ${dir}/out.tar.age | tar -x -C ${dir}/x`]);
    expect(await readFile(join(dir, 'x', 'keycloak/conf/keycloak.conf'), 'utf8')).toBe('a=1\n');
  });

  it('splits a stream of unknown length into numbered entries that stock tar unpacks and cat joins back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kf-tar-split-'));
    dirs.push(dir);
    const source = Buffer.from(Array.from({ length: 250_000 }, (_, i) => i % 251));
    const tar = new TarWriter();
    const archive = (async () => {
      const out: Buffer[] = [];
      for await (const chunk of tar.stream()) out.push(Buffer.from(chunk));
      return Buffer.concat(out);
    })();
    const totals: number[] = [];
    const got = await tar.addSplitStream(
      'database/x.dump',
      Readable.from([source.subarray(0, 70_000), source.subarray(70_000, 140_000), source.subarray(140_000)]),
      100_000,
      (t) => totals.push(t),
    );
    tar.finish();
    await writeFile(join(dir, 'a.tar'), await archive);
    await run('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
    expect(got.parts).toEqual(['database/x.dump.00000', 'database/x.dump.00001']);
    const joined = Buffer.concat(await Promise.all(got.parts.map((p) => readFile(join(dir, p)))));
    expect(joined.equals(source)).toBe(true);
    expect(got).toMatchObject({ size: source.length, sha256: createHash('sha256').update(source).digest('hex') });
    expect(totals).toEqual([70_000, 140_000, 250_000]);
  });
});
