import { readFile } from 'node:fs/promises';
import { CliExit } from '../../cli-exit.js';

/** How a restore or drill opens the backup: a hub secret, or an identity file for this call. */
export type IdentityChoice = { identitySecret: string } | { identity: string };

/**
 * The identity for one restore or drill, from `--identity-secret` (a hub secret's name) or
 * `--identity-file` (an age-keygen key file, `-` for stdin). The file's text goes to the hub in
 * the request body only, for this call: the hub opens the backup with it and forgets it. Errors
 * name the file, never its content.
 */
export async function readIdentityChoice(
  opts: { identitySecret?: string; identityFile?: string },
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<IdentityChoice> {
  if ((opts.identitySecret === undefined) === (opts.identityFile === undefined))
    throw new CliExit(2, 'give one of --identity-secret <name> (a hub secret) and --identity-file <file> (an age identity for this call only)');
  if (opts.identitySecret !== undefined) return { identitySecret: opts.identitySecret };
  const file = opts.identityFile!;
  let text: string;
  try {
    text = file === '-' ? await readAll(stdin) : await readFile(file, 'utf8');
  } catch (err) {
    throw new CliExit(2, `cannot read the identity file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // Only the identity lines cross the wire: age-keygen's comments (creation time, public key) stay here.
  const identities = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (identities.length === 0) throw new CliExit(2, `${file} holds no age identity (a line AGE-SECRET-KEY-1…, as age-keygen writes it)`);
  return { identity: identities.join('\n') };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
