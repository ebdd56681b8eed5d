import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { type Account, decode, type Operator, parseCreds, type User } from '@nats-io/jwt';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_LIMITS } from './agent-limits.js';
import { NatsAuthority, type NatsAuthorityFiles, type NatsAuthorityKeys } from './nats-authority.js';
import { accountUpdateSubject, REVOCATION_INBOX_PREFIX } from './publish-account-jwt.js';

const enc = new TextEncoder();
const publicKeyOf = (seed: string) => fromSeed(enc.encode(seed)).getPublicKey();

describe('NatsAuthority', () => {
  let dir: string;
  let files: NatsAuthorityFiles;
  let keys: NatsAuthorityKeys;
  let authConf: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-nats-auth-'));
    files = await NatsAuthority.create(join(dir, 'auth'));
    keys = JSON.parse(await readFile(files.keysPath, 'utf8'));
    authConf = await readFile(files.authConfPath, 'utf8');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The preloaded JWT of an account, from auth.conf. */
  const preloaded = (publicKey: string) => new RegExp(`^  ${publicKey}: (\\S+)$`, 'm').exec(authConf)?.[1];

  it('writes a full resolver config whose operator lets a separate signing key sign accounts', async () => {
    expect(isAbsolute(files.resolverDir)).toBe(true);
    expect((await stat(files.resolverDir)).isDirectory()).toBe(true);
    expect(authConf).toContain(`dir: ${JSON.stringify(files.resolverDir)}`);
    expect(authConf).toMatch(/type: full/);
    expect(authConf).toMatch(/allow_delete: false/);
    expect(authConf).not.toMatch(/MEMORY/);
    for (const path of [files.keysPath, files.authConfPath, files.hubCredsPath, files.revocationCredsPath]) {
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    }

    const operator = decode<Operator>(/^operator: (\S+)$/m.exec(authConf)![1]!);
    expect(operator.sub).toBe(publicKeyOf(keys.operatorSeed));
    expect(operator.nats.signing_keys).toEqual([publicKeyOf(keys.operatorSigningSeed!)]);
    expect(operator.nats.system_account).toBe(publicKeyOf(keys.systemAccountSeed));

    const account = decode<Account>(preloaded(publicKeyOf(keys.accountSeed))!);
    expect(account.iss).toBe(publicKeyOf(keys.operatorSigningSeed!));
    expect(account.nats.signing_keys).toEqual([publicKeyOf(keys.signingSeed)]);
    expect(account.nats.revocations).toBeUndefined();
    expect(decode(preloaded(publicKeyOf(keys.systemAccountSeed))!).iss).toBe(publicKeyOf(keys.operatorSigningSeed!));
  });

  it('mints agent JWTs scoped to the agent and within AGENT_LIMITS', async () => {
    const authority = await NatsAuthority.load(files.dir);
    const user = createUser();
    const claims = decode<User>(await authority.agentJwt('h_a1', user.getPublicKey()));
    expect(claims.sub).toBe(user.getPublicKey());
    expect(claims.iss).toBe(publicKeyOf(keys.signingSeed));
    expect(claims.nats.issuer_account).toBe(publicKeyOf(keys.accountSeed));
    expect(claims.nats.pub).toEqual({ allow: ['kf.v1.hub.h_a1.>'] });
    expect(claims.nats.sub).toEqual({ allow: ['kf.v1.agent.h_a1.>', '_INBOX_h_a1.>'] });
    expect(claims.nats).toMatchObject({ subs: AGENT_LIMITS.subs, payload: AGENT_LIMITS.payload, data: AGENT_LIMITS.data });
    // Headroom over the largest message an agent sends today (a ~1.0 MB noop result).
    expect(AGENT_LIMITS.payload).toBeGreaterThanOrEqual(2 * 1_000_000);
    await expect(authority.agentJwt('h_a1', 'Anotauser')).rejects.toThrow(/user nkey/);
  });

  it('re-signs the preloaded account with revocations, and only with them changed', async () => {
    const authority = await NatsAuthority.load(files.dir);
    expect(authority.canRevoke).toBe(true);
    const revoked = createUser().getPublicKey();
    const claims = decode<Account>(await authority.accountJwt({ [revoked]: 1_700_000_000 }));
    const original = decode<Account>(preloaded(publicKeyOf(keys.accountSeed))!);
    expect(claims.sub).toBe(original.sub);
    expect(claims.name).toBe(original.name);
    expect(claims.iss).toBe(publicKeyOf(keys.operatorSigningSeed!));
    expect(claims.nats.revocations).toEqual({ [revoked]: 1_700_000_000 });
    const { revocations: _, ...rest } = claims.nats;
    expect(rest).toEqual(original.nats);
  });

  it('signs with the operator key itself for dirs made before operator signing keys existed', async () => {
    const old = join(dir, 'old');
    await NatsAuthority.create(old);
    const { operatorSigningSeed: _, ...oldKeys } = JSON.parse(await readFile(join(old, 'keys.json'), 'utf8')) as NatsAuthorityKeys;
    await writeFile(join(old, 'keys.json'), JSON.stringify(oldKeys));
    const claims = decode<Account>(await (await NatsAuthority.load(old)).accountJwt({}));
    expect(claims.iss).toBe(publicKeyOf(oldKeys.operatorSeed));
  });

  it('upgrades an older dir in place: same operator, account and signing key, new resolver and operator signing key', async () => {
    const old = join(dir, 'upgrade');
    const made = await NatsAuthority.create(old);
    const { operatorSigningSeed: _, ...oldKeys } = JSON.parse(await readFile(made.keysPath, 'utf8')) as NatsAuthorityKeys;
    await writeFile(made.keysPath, JSON.stringify(oldKeys));
    await writeFile(made.authConfPath, 'resolver: MEMORY\n');
    const hubCreds = await readFile(made.hubCredsPath, 'utf8');

    const upgraded = await NatsAuthority.upgrade(old);
    const keysNow = JSON.parse(await readFile(upgraded.keysPath, 'utf8')) as NatsAuthorityKeys;
    expect(keysNow).toMatchObject(oldKeys);
    expect(keysNow.operatorSigningSeed).toMatch(/^SO/);
    const conf = await readFile(upgraded.authConfPath, 'utf8');
    expect(conf).toMatch(/type: full/);
    expect(decode<Operator>(/^operator: (\S+)$/m.exec(conf)![1]!).nats.signing_keys).toEqual([publicKeyOf(keysNow.operatorSigningSeed!)]);
    expect(await readFile(upgraded.hubCredsPath, 'utf8')).toBe(hubCreds);
  });

  it('gives the hub system-account credentials that may only update the Keyfleet account', async () => {
    const creds = await (await NatsAuthority.load(files.dir)).revocationCreds();
    const { uc } = await parseCreds(enc.encode(creds));
    expect(uc.iss).toBe(publicKeyOf(keys.systemAccountSeed));
    expect(uc.nats.pub).toEqual({ allow: [accountUpdateSubject(publicKeyOf(keys.accountSeed))] });
    expect(uc.nats.sub).toEqual({ allow: [`${REVOCATION_INBOX_PREFIX}.>`] });
  });

  it('without keys.json, revokes only when given the operator signing seed and the revocation creds', async () => {
    const account = publicKeyOf(keys.accountSeed);
    const minting = NatsAuthority.fromSigningSeed(account, keys.signingSeed);
    expect(minting.canRevoke).toBe(false);
    await expect(minting.accountJwt({})).rejects.toThrow(/no operator signing key/);
    await expect(minting.revocationCreds()).rejects.toThrow(/no system-account credentials/);

    const creds = await readFile(files.revocationCredsPath, 'utf8');
    const full = NatsAuthority.fromSigningSeed(account, keys.signingSeed, { operatorSigningSeed: keys.operatorSigningSeed!, creds });
    expect(full.canRevoke).toBe(true);
    expect(await full.revocationCreds()).toBe(creds);
    expect(decode(await full.accountJwt({})).iss).toBe(publicKeyOf(keys.operatorSigningSeed!));
  });
});
