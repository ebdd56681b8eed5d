import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { hello, ids } from '@keyfleet/proto/v1';
import { writeFileAtomic } from './write-file-atomic.js';

const identitySchema = z.object({
  hostId: ids.host,
  hubUrl: z.string().min(1),
  natsServers: z.array(z.string().min(1)).min(1),
  labels: hello.shape.labels,
});

const credentialsSchema = z.object({
  jwt: z.string().min(1),
  seed: z.string().startsWith('SU', 'seed must be a NATS user seed'),
});

export type Identity = z.infer<typeof identitySchema>;
export type Credentials = z.infer<typeof credentialsSchema>;

const paths = (stateDir: string) => ({
  identity: join(stateDir, 'identity.json'),
  // Kept apart from identity.json so the public part can be read or shown without the secrets.
  credentials: join(stateDir, 'credentials.json'),
});

async function readJson(path: string, what: string, secret: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`not enrolled: ${path} does not exist (run keyfleet-agent enroll)`);
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // JSON.parse quotes part of its input in the message; for the credentials file that would be the seed.
    throw new Error(`${what} ${path} is not valid JSON${secret ? '' : ` (${(err as Error).message})`}`);
  }
}

/** The agent's enrolled identity on disk: identity.json (public) and credentials.json (seed + JWT), both 0600 in a 0700 dir. */
export const identityStore = {
  paths,

  async exists(stateDir: string): Promise<boolean> {
    return stat(paths(stateDir).identity).then(
      () => true,
      () => false,
    );
  },

  async save(stateDir: string, identity: Identity, credentials: Credentials): Promise<void> {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await chmod(stateDir, 0o700);
    const p = paths(stateDir);
    // Credentials first: identity.json marks the enrollment complete, so it must come last.
    await writeFileAtomic(p.credentials, JSON.stringify(credentialsSchema.parse(credentials), null, 2));
    await writeFileAtomic(p.identity, JSON.stringify(identitySchema.parse(identity), null, 2));
  },

  async load(stateDir: string): Promise<{ identity: Identity; credentials: Credentials }> {
    const p = paths(stateDir);
    const identity = identitySchema.safeParse(await readJson(p.identity, 'identity file', false));
    if (!identity.success) throw new Error(`identity file ${p.identity} is invalid: ${z.prettifyError(identity.error)}`);
    const credentials = credentialsSchema.safeParse(await readJson(p.credentials, 'credentials file', true));
    if (!credentials.success) throw new Error(`credentials file ${p.credentials} is invalid: ${z.prettifyError(credentials.error)}`);
    return { identity: identity.data, credentials: credentials.data };
  },
};
