import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

export interface SecretSource {
  fromFile?: string;
  fromEnv?: string;
}

export interface SecretInput {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where the prompt goes when stdin is a terminal. */
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** One trailing newline is how files and pipes end, not part of the secret. */
const chomp = (s: string): string => s.replace(/\r?\n$/, '');

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

async function promptHidden(io: SecretInput): Promise<string> {
  io.stderr.write('secret value (input hidden): ');
  // Echo goes to a sink, so the value never appears on the terminal.
  const rl = createInterface({ input: io.stdin, output: new Writable({ write: (_c, _e, done) => done() }), terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    io.stderr.write('\n');
  }
}

/**
 * A secret value from a file, an environment variable, or stdin (a hidden prompt on
 * a terminal) — never from a command-line argument, which shell history and the
 * process list would keep.
 */
export async function readSecretValue(source: SecretSource, io: SecretInput): Promise<string> {
  if (source.fromFile !== undefined && source.fromEnv !== undefined) throw new Error('use either --from-file or --from-env, not both');
  let value: string;
  if (source.fromFile !== undefined) {
    try {
      value = chomp(await readFile(source.fromFile, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read the secret file ${source.fromFile}: ${(err as Error).message}`, { cause: err });
    }
  } else if (source.fromEnv !== undefined) {
    const v = io.env[source.fromEnv];
    if (v === undefined) throw new Error(`environment variable ${source.fromEnv} is not set`);
    value = v;
  } else {
    value = io.stdin.isTTY ? await promptHidden(io) : chomp(await readAll(io.stdin));
  }
  if (value === '') throw new Error('the secret value is empty');
  return value;
}
