import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSecretValue, type SecretInput } from './read-secret-value.js';

const sink = () => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, done) {
      chunks.push(String(c));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
};
const io = (stdin: SecretInput['stdin'], env: NodeJS.ProcessEnv = {}): SecretInput => ({ stdin, stderr: sink().stream, env });

describe('readSecretValue', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-cli-secret-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file or an environment variable, dropping one trailing newline', async () => {
    const path = join(dir, 'pw');
    await writeFile(path, 'from-file\n');
    expect(await readSecretValue({ fromFile: path }, io(Readable.from([])))).toBe('from-file');
    expect(await readSecretValue({ fromEnv: 'PW' }, io(Readable.from([]), { PW: 'from-env' }))).toBe('from-env');
  });

  it('reads piped stdin to its end', async () => {
    expect(await readSecretValue({}, io(Readable.from([Buffer.from('line one\nline '), Buffer.from('two\r\n')])))).toBe('line one\nline two');
  });

  it('prompts without echo when stdin is a terminal', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const err = sink();
    const reading = readSecretValue({}, { stdin, stderr: err.stream, env: {} });
    stdin.write('typed-secret\n');
    expect(await reading).toBe('typed-secret');
    expect(err.text()).toBe('secret value (input hidden): \n');
  });

  it('refuses empty values, missing sources and both options at once', async () => {
    await expect(readSecretValue({}, io(Readable.from(['\n'])))).rejects.toThrow('the secret value is empty');
    await expect(readSecretValue({ fromEnv: 'NOPE' }, io(Readable.from([])))).rejects.toThrow('environment variable NOPE is not set');
    await expect(readSecretValue({ fromFile: join(dir, 'missing') }, io(Readable.from([])))).rejects.toThrow(/^cannot read the secret file .*missing: ENOENT/);
    await expect(readSecretValue({ fromFile: 'a', fromEnv: 'B' }, io(Readable.from([])))).rejects.toThrow('use either --from-file or --from-env, not both');
  });
});
