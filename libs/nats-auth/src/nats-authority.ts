import { createPrivateKey, sign } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Account, encodeAccount, encodeOperator, encodeUser, fmtCreds, type RevocationList, type User } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { subjects } from '@keyfleet/proto/v1';
import { AGENT_LIMITS } from './agent-limits.js';
import { accountUpdateSubject, REVOCATION_INBOX_PREFIX } from './publish-account-jwt.js';

/**
 * Keyfleet uses NATS decentralized auth: an operator, a system account and one
 * application account whose *signing key* the hub holds. The hub mints a user
 * JWT for each agent at enrollment, bound to the agent's own public nkey and
 * scoped to that agent's subjects, so no NATS config reload is ever needed and
 * the agent's private key never leaves its host.
 *
 * Credentials can be taken back: the server runs a full account resolver, and the
 * hub re-signs the account JWT with the revoked agents' keys (operator signing key)
 * and pushes it through the system account. The server closes the revoked users'
 * connections at once, refuses them from then on, and keeps the JWT on disk.
 */
export interface NatsAuthorityKeys {
  operatorSeed: string;
  /**
   * Signs account JWTs (the hub re-signs the Keyfleet account to revoke agents). Absent in
   * dirs made before revocation existed; the operator's own key signs instead.
   */
  operatorSigningSeed?: string;
  systemAccountSeed: string;
  accountSeed: string;
  /** Signs user JWTs. */
  signingSeed: string;
}

export interface NatsAuthorityFiles {
  dir: string;
  /** nats-server config fragment (operator, resolver, preloaded accounts); `include` it. */
  authConfPath: string;
  /** Credentials for the hub's own NATS connection. */
  hubCredsPath: string;
  /** Keys; the hub needs them (see the README for what each is for). */
  keysPath: string;
  /** The hub's system-account credentials for revoking agents, when it runs without keys.json. */
  revocationCredsPath: string;
  /** Where nats-server keeps account JWTs, revocations included (absolute). */
  resolverDir: string;
}

const ACCOUNT_NAME = 'KEYFLEET';
const enc = new TextEncoder();
const dec = new TextDecoder();

export class NatsAuthority {
  private constructor(
    readonly accountPublicKey: string,
    private readonly signer: KeyPair,
    private readonly operatorSigner: KeyPair | undefined,
    private readonly revocation: { system: KeyPair } | { creds: string } | undefined,
  ) {}

  /** Loads from the `keys.json` written by `create`: everything, revocation included. */
  static async load(dir: string): Promise<NatsAuthority> {
    const keys = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as NatsAuthorityKeys;
    const account = fromSeed(enc.encode(keys.accountSeed)).getPublicKey();
    return new NatsAuthority(
      account,
      nativeSigner(fromSeed(enc.encode(keys.signingSeed))),
      nativeSigner(fromSeed(enc.encode(keys.operatorSigningSeed ?? keys.operatorSeed))),
      { system: nativeSigner(fromSeed(enc.encode(keys.systemAccountSeed))) },
    );
  }

  /**
   * What a hub needs without keys.json: the account public key and its signing seed, and to
   * revoke, the operator signing seed and the system-account credentials `revocationCreds`
   * wrote.
   */
  static fromSigningSeed(accountPublicKey: string, signingSeed: string, revocation?: { operatorSigningSeed: string; creds: string }): NatsAuthority {
    return new NatsAuthority(
      accountPublicKey,
      nativeSigner(fromSeed(enc.encode(signingSeed))),
      revocation ? nativeSigner(fromSeed(enc.encode(revocation.operatorSigningSeed))) : undefined,
      revocation ? { creds: revocation.creds } : undefined,
    );
  }

  /**
   * Creates a new operator, accounts and hub credentials in `dir` (0700, files
   * 0600). Refuses nothing: callers decide whether an existing dir is reused.
   * `resolverDir` (default `<dir>/jwt`) must be writable by nats-server.
   */
  static async create(dir: string, opts: { resolverDir?: string } = {}): Promise<NatsAuthorityFiles> {
    const keys: NatsAuthorityKeys = {
      operatorSeed: seedOf(createOperator()),
      operatorSigningSeed: seedOf(createOperator()),
      systemAccountSeed: seedOf(createAccount()),
      accountSeed: seedOf(createAccount()),
      signingSeed: seedOf(createAccount()),
    };
    return NatsAuthority.writeServerFiles(dir, keys, { ...opts, hubCreds: true });
  }

  /**
   * Rewrites auth.conf of a dir an earlier `create` made, from its keys.json, with what this
   * version needs (an operator signing key, a system account clients may join, the full
   * resolver). The operator, account and signing keys stay, so enrolled agents and the hub's
   * credentials keep working. Run it once: a rewritten preload is newer than the revocations
   * the server stored, which then count only once a hub pushes them again (it does on connect).
   */
  static async upgrade(dir: string, opts: { resolverDir?: string } = {}): Promise<NatsAuthorityFiles> {
    const keys = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as NatsAuthorityKeys;
    keys.operatorSigningSeed ??= seedOf(createOperator());
    return NatsAuthority.writeServerFiles(dir, keys, { ...opts, hubCreds: false });
  }

  private static async writeServerFiles(dir: string, keys: NatsAuthorityKeys, opts: { resolverDir?: string; hubCreds: boolean }): Promise<NatsAuthorityFiles> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const resolverDir = resolve(opts.resolverDir ?? join(dir, 'jwt'));
    await mkdir(resolverDir, { recursive: true, mode: 0o700 });
    const key = (seed: string) => fromSeed(enc.encode(seed));
    const operator = key(keys.operatorSeed);
    // Account JWTs are signed by a separate operator key, so the operator's identity key can
    // stay offline while hubs re-sign the account to revoke agents.
    const operatorSigning = nativeSigner(key(keys.operatorSigningSeed ?? keys.operatorSeed));
    const sys = nativeSigner(key(keys.systemAccountSeed));
    const account = key(keys.accountSeed).getPublicKey();
    const signing = nativeSigner(key(keys.signingSeed));
    const operatorJwt = await encodeOperator('keyfleet', operator, {
      system_account: sys.getPublicKey(),
      signing_keys: [operatorSigning.getPublicKey()],
    });
    // Without limits an account admits no connection; the hub's revocation user joins this one.
    const sysJwt = await encodeAccount('SYS', sys.getPublicKey(), { limits: UNLIMITED }, { signer: operatorSigning });
    const accountJwt = await encodeAccount(ACCOUNT_NAME, account, accountClaims(signing.getPublicKey(), {}), { signer: operatorSigning });
    const authConf = [
      '# Generated by keyfleet-hub nats-init: operator mode with a full account resolver.',
      '# The hub pushes updated Keyfleet account JWTs (agent revocations) through the system',
      '# account; the server applies them at once and keeps them in `dir` across restarts.',
      `operator: ${operatorJwt}`,
      `system_account: ${sys.getPublicKey()}`,
      'resolver: {',
      '  type: full',
      `  dir: ${JSON.stringify(resolverDir)}`,
      '  # Accounts are never deleted; a revocation is an update.',
      '  allow_delete: false',
      '  # Servers of a cluster compare their stores this often and copy what they miss.',
      '  interval: "2m"',
      '}',
      '# Stored on first start; a JWT issued later (one with revocations) wins over these.',
      'resolver_preload: {',
      `  ${sys.getPublicKey()}: ${sysJwt}`,
      `  ${account}: ${accountJwt}`,
      '}',
      '',
    ].join('\n');
    const files: NatsAuthorityFiles = {
      dir,
      authConfPath: join(dir, 'auth.conf'),
      hubCredsPath: join(dir, 'hub.creds'),
      keysPath: join(dir, 'keys.json'),
      revocationCredsPath: join(dir, 'revocation.creds'),
      resolverDir,
    };
    const authority = new NatsAuthority(account, signing, operatorSigning, { system: sys });
    await writeSecret(files.keysPath, JSON.stringify(keys, null, 2));
    await writeSecret(files.authConfPath, authConf);
    await writeSecret(files.revocationCredsPath, await authority.revocationCreds());
    if (opts.hubCreds) await writeSecret(files.hubCredsPath, await authority.hubCreds());
    return files;
  }

  /** Full access within the account: the hub must reach every agent. */
  async hubCreds(name = 'hub'): Promise<string> {
    const user = createUser();
    const jwt = await encodeUser(name, user, this.accountPublicKey, {}, { signer: this.signer });
    return dec.decode(fmtCreds(jwt, user));
  }

  /**
   * A user JWT for one agent, bound to the public nkey the agent generated.
   * It may publish only its own hub subjects, subscribe only to its own agent
   * subjects and inbox, and answer requests addressed to it (allow_responses),
   * within AGENT_LIMITS.
   */
  async agentJwt(hostId: string, agentPublicKey: string): Promise<string> {
    if (!agentPublicKey.startsWith('U')) throw new Error('agent public key must be a NATS user nkey (starts with U)');
    const inbox = subjects.inboxPrefix(hostId);
    return encodeUser(
      `agent-${hostId}`,
      agentPublicKey,
      this.accountPublicKey,
      {
        pub: { allow: [subjects.hub.all(hostId)] },
        sub: { allow: [subjects.agent.all(hostId), `${inbox}.>`] },
        resp: { max: 1, ttl: 0 },
        subs: AGENT_LIMITS.subs,
        payload: AGENT_LIMITS.payload,
        data: AGENT_LIMITS.data,
      },
      { signer: this.signer },
    );
  }

  /** Whether this authority holds what revoking takes (operator signing key and system-account access). */
  get canRevoke(): boolean {
    return this.operatorSigner !== undefined && this.revocation !== undefined;
  }

  /**
   * The Keyfleet account JWT with `revocations` (user public key → unix seconds: user JWTs
   * issued at or before then are refused). Everything else is what `create` preloaded, so
   * every hub signs the same account; the revocation list is the whole state.
   */
  async accountJwt(revocations: RevocationList): Promise<string> {
    if (!this.operatorSigner) throw new Error('this NATS authority has no operator signing key, so it cannot revoke agent credentials');
    return encodeAccount(ACCOUNT_NAME, this.accountPublicKey, accountClaims(this.signer.getPublicKey(), revocations), { signer: this.operatorSigner });
  }

  /**
   * Credentials of a system-account user that may only publish updates of the Keyfleet
   * account's JWT (and receive the server's answers on REVOCATION_INBOX_PREFIX): the
   * connection a hub revokes agents through.
   */
  async revocationCreds(): Promise<string> {
    if (!this.revocation) throw new Error('this NATS authority has no system-account credentials, so it cannot revoke agent credentials');
    if ('creds' in this.revocation) return this.revocation.creds;
    return this.systemUserCreds('keyfleet-hub-revocations', {
      pub: { allow: [accountUpdateSubject(this.accountPublicKey)] },
      sub: { allow: [`${REVOCATION_INBOX_PREFIX}.>`] },
    });
  }

  /**
   * A user of the system account (server events, monitoring), with `permissions` or, without
   * them, everything the system account can do: for operators' tools and tests, never agents.
   * Needs keys.json (`load`).
   */
  async systemUserCreds(name: string, permissions: Pick<User, 'pub' | 'sub'> = {}): Promise<string> {
    if (!this.revocation || !('system' in this.revocation)) throw new Error('this NATS authority has no system account key (load it from keys.json)');
    const user = createUser();
    const jwt = await encodeUser(name, user, this.revocation.system, permissions, {});
    return dec.decode(fmtCreds(jwt, user));
  }
}

/** Account limits: none. JetStream stays off (task durability lives in Postgres and the agent journal). */
const UNLIMITED = { subs: -1, conn: -1, leaf: -1, imports: -1, exports: -1, data: -1, payload: -1, wildcards: true };

const seedOf = (kp: KeyPair) => dec.decode(kp.getSeed());

function accountClaims(signingPublicKey: string, revocations: RevocationList): Partial<Account> {
  return {
    signing_keys: [signingPublicKey],
    // Per-agent limits are in each user JWT (AGENT_LIMITS).
    limits: UNLIMITED,
    ...(Object.keys(revocations).length > 0 ? { revocations } : {}),
  };
}

/** PKCS#8 DER prefix for a raw 32-byte Ed25519 private key. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The same key pair, but signing with Node's native Ed25519 instead of the pure-JS
 * one in nkeys, which takes ~120 ms per JWT here and made enrolling a fleet slow.
 */
function nativeSigner(kp: KeyPair): KeyPair {
  const rawSeed = (kp as KeyPair & { getRawSeed(): Uint8Array }).getRawSeed();
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, rawSeed]), format: 'der', type: 'pkcs8' });
  // Both derive the key pair in pure JS on every call; the JWT encoder asks for them each time.
  const publicKey = kp.getPublicKey();
  const privateKey = kp.getPrivateKey();
  return {
    getPublicKey: () => publicKey,
    getPrivateKey: () => privateKey,
    getSeed: () => kp.getSeed(),
    sign: (input: Uint8Array) => new Uint8Array(sign(null, input, key)),
    verify: (input: Uint8Array, sig: Uint8Array) => kp.verify(input, sig),
    clear: () => kp.clear(),
    seal: (input: Uint8Array, recipient: string, nonce?: Uint8Array) => kp.seal(input, recipient, nonce),
    open: (message: Uint8Array, sender: string) => kp.open(message, sender),
  };
}

async function writeSecret(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
}
