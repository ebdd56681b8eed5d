import { lookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../write-file-atomic.js';
import { mustRun } from '../command-runner.js';
import { defineRule, type RuleEnv } from '../hardening-rule.js';
import { RuleRefused } from '../rule-refused.js';
import { deadManSwitch } from '../dead-man-switch.js';

/** Only this table is Keyfleet's: Docker's and the operator's own tables are never touched. */
const TABLE = 'inet keyfleet';
/** What was applied, in the agent's state: the source, and nft's own listing right after, which later audits compare with. */
const files = (env: RuleEnv) => {
  const dir = join(env.root, env.params.paths.agentStateDir, 'hardening');
  return { dir, source: join(dir, 'firewall.nft'), listing: join(dir, 'firewall.listing'), load: join(dir, 'load.nft'), revert: join(dir, 'revert.nft') };
};

/** Where Debian's nftables.service loads the ruleset from at boot (`nft -f /etc/nftables.conf`). */
const BOOT_CONF = 'etc/nftables.conf';
const BEGIN = '# BEGIN keyfleet net.firewall (managed by keyfleet-agent; changes here are overwritten)';
const END = '# END keyfleet net.firewall';

/**
 * The boot config with Keyfleet's block set to `source` (removed when null): the operator's own
 * content around it stays as it is. The block replaces the table as a load does, so loading the
 * file again (a reload of nftables.service) does not fail on an existing table.
 */
export function withBootBlock(conf: string | null, source: string | null): string | null {
  const text = conf ?? '';
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END, start);
  const outside = start >= 0 && end >= 0 ? text.slice(0, start) + text.slice(end + END.length).replace(/^\n/, '') : text;
  if (source === null) return conf === null ? null : outside;
  const head = outside === '' ? '#!/usr/sbin/nft -f\n' : outside.endsWith('\n') ? outside : `${outside}\n`;
  return `${head}${BEGIN}\n${replaceTable(source)}${END}\n`;
}

/** The block as saved in the boot config, or null. */
function bootBlock(conf: string | null): string | null {
  if (conf === null) return null;
  const start = conf.indexOf(BEGIN);
  const end = conf.indexOf(END, start);
  return start >= 0 && end >= 0 ? conf.slice(start + BEGIN.length + 1, end) : null;
}

const readBootConf = (env: RuleEnv) =>
  readFile(join(env.root, BOOT_CONF), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });

async function writeBootConf(env: RuleEnv, conf: string | null): Promise<void> {
  const path = join(env.root, BOOT_CONF);
  if (conf === null) return rm(path, { force: true });
  // Debian ships it executable (`#!/usr/sbin/nft -f`); an existing file keeps its own mode.
  const mode = await stat(path).then(
    (st) => st.mode & 0o7777,
    () => 0o755,
  );
  await mkdir(join(env.root, 'etc'), { recursive: true });
  await writeFileAtomic(path, conf, mode);
}

/**
 * Whether nftables.service loads the boot config at boot. Only asked on the real root: under
 * another root (tests, chroots) the unit's state is not the host's to judge; undefined then.
 */
async function loadedAtBoot(env: RuleEnv): Promise<boolean | undefined> {
  if (env.root !== '/') return undefined;
  return (await env.run('systemctl', ['is-enabled', '--quiet', 'nftables.service'])).code === 0;
}

/** How much longer than the in-process switch the backstop waits: it only acts when the agent died in the window. */
const BACKSTOP_MARGIN_SEC = 10;

/** An nft script replacing Keyfleet's table with `source` ("add" first makes the delete valid whether or not the table exists). */
const replaceTable = (source: string | null) => `add table ${TABLE}\ndelete table ${TABLE}\n${source ?? ''}`;

type Firewall = NonNullable<RuleEnv['params']['firewall']>;

const set = (items: Array<string | number>) => (items.length === 1 ? String(items[0]) : `{ ${items.join(', ')} }`);

/** `ip saddr …` and `ip6 saddr …` halves of a CIDR list (nft wants them apart). */
function bySaddr(cidrs: string[], rest: string): string[] {
  const v6 = cidrs.filter((c) => c.includes(':'));
  const v4 = cidrs.filter((c) => !c.includes(':'));
  return [...(v4.length ? [`ip saddr ${set(v4)} ${rest}`] : []), ...(v6.length ? [`ip6 saddr ${set(v6)} ${rest}`] : [])];
}

/**
 * The ruleset: in, SSH from the given CIDRs, Keycloak's public ports, the management port only
 * from monitoring; out, established traffic, DNS/NTP, HTTP(S) (hub, ACME, packages) and NATS.
 * Everything else is dropped both ways.
 */
export async function renderFirewall(fw: Firewall, nats: Array<{ host: string; port: number }>): Promise<string> {
  const natsRules: string[] = [];
  for (const e of nats) {
    for (const { address } of await lookup(e.host, { all: true }))
      natsRules.push(`${isIPv6(address) ? 'ip6' : 'ip'} daddr ${address} tcp dport ${e.port} accept`);
  }
  const input = [
    'type filter hook input priority filter; policy drop;',
    'iifname "lo" accept',
    'ct state established,related accept',
    'ct state invalid drop',
    'meta l4proto { icmp, ipv6-icmp } accept',
    ...bySaddr(fw.sshCidrs, `tcp dport ${fw.sshPort} accept`),
    ...(fw.publicPorts.length ? [`tcp dport ${set(fw.publicPorts)} accept`] : []),
    ...bySaddr(fw.monitoringCidrs, `tcp dport ${fw.managementPort} accept`),
  ];
  const output = [
    'type filter hook output priority filter; policy drop;',
    'oifname "lo" accept',
    'ct state established,related accept',
    'meta l4proto { icmp, ipv6-icmp } accept',
    'udp dport { 53, 123 } accept',
    'tcp dport { 53, 80, 443 } accept',
    ...natsRules,
  ];
  const chain = (name: string, lines: string[]) => `  chain ${name} {\n${lines.map((l) => `    ${l}\n`).join('')}  }\n`;
  return `table ${TABLE} {\n${chain('input', input)}${chain('output', output)}}\n`;
}

async function listing(env: RuleEnv): Promise<string | null> {
  const r = await env.run('nft', ['list', 'table', ...TABLE.split(' ')]);
  return r.code === 0 ? r.stdout : null;
}

/** Replaces Keyfleet's table in one transaction (nft -f is atomic), or removes it when `source` is null. */
async function load(env: RuleEnv, source: string | null): Promise<void> {
  const { dir, load: file } = files(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, replaceTable(source), 0o600);
  try {
    await mustRun(env.run, 'nft', ['-f', file]);
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * A process outside the agent that loads the previous table after `seconds` unless cancelled: the
 * switch must hold even when the agent itself dies in the window (OOM, kill -9). It survives the
 * agent's restarts because the agent's unit has KillMode=process. Started through the runner, so
 * it lives in the agent's network namespace (and a test's).
 */
async function startBackstop(env: RuleEnv, previous: string | null, seconds: number): Promise<{ cancel(): Promise<void> }> {
  const { dir, revert } = files(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(revert, replaceTable(previous), 0o600);
  const pid = (
    await mustRun(env.run, 'sh', [
      '-c',
      'setsid sh -c \'sleep "$1" && nft -f "$2" && rm -f "$2"\' sh "$1" "$2" </dev/null >/dev/null 2>&1 & echo $!',
      'sh',
      String(seconds),
      revert,
    ])
  ).trim();
  return {
    async cancel() {
      // Its own process group (setsid): killing the group ends the sleep too, so nothing lingers.
      await env.run('kill', ['-TERM', '--', `-${pid}`]);
      await rm(revert, { force: true });
    },
  };
}

async function saved(env: RuleEnv): Promise<{ source: string; listing: string } | null> {
  const [source, list] = await Promise.all([readFile(files(env).source, 'utf8').catch(() => null), readFile(files(env).listing, 'utf8').catch(() => null)]);
  return source !== null && list !== null ? { source, listing: list } : null;
}

async function remember(env: RuleEnv, source: string | null, list: string | null): Promise<void> {
  const f = files(env);
  if (source === null || list === null) {
    await rm(f.source, { force: true });
    await rm(f.listing, { force: true });
    return;
  }
  await mkdir(f.dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(f.source, source, 0o600);
  await writeFileAtomic(f.listing, list, 0o600);
}

interface Before {
  /** nft's listing of the table before (null: there was none), and what Keyfleet had saved. */
  table: string | null;
  saved: { source: string; listing: string } | null;
  /** /etc/nftables.conf before (null: absent); undefined in records from before the ruleset was saved for boot. */
  bootConf?: string | null;
  /** Whether apply enabled nftables.service (so rollback disables it again). */
  enabledAtBoot?: boolean;
}

/** The nftables firewall, applied behind a dead-man switch so a ruleset that cuts the agent off from NATS undoes itself. */
export const nftFirewallRule = defineRule<Before>({
  id: 'net.firewall',
  title: 'Firewall: only SSH, Keycloak, monitoring and NATS',
  why: 'A port nobody meant to open (a debug port, the management port, a database) is not reachable from outside.',
  async check(env) {
    const fw = env.params.firewall;
    if (!fw) return { status: 'not-applicable', current: '-', wanted: '-', reason: 'no firewall parameters given (params.firewall)', changes: [] };
    const wanted = await renderFirewall(fw, env.params.natsEndpoints);
    const [live, kept, conf, atBoot] = await Promise.all([listing(env), saved(env), readBootConf(env), loadedAtBoot(env)]);
    const applied = live !== null && kept !== null && kept.source === wanted;
    const drifted = applied && kept.listing !== live;
    // The ruleset survives a reboot only when the boot config holds it and nftables.service loads it.
    const persisted = bootBlock(conf) === replaceTable(wanted) && atBoot !== false;
    const status = applied && !drifted && persisted ? 'pass' : 'fail';
    const table =
      live === null
        ? `no table ${TABLE}`
        : !applied
          ? `table ${TABLE} from other parameters`
          : drifted
            ? `table ${TABLE} changed since it was applied`
            : `table ${TABLE} as applied`;
    const boot = !persisted ? (atBoot === false ? '; nftables.service not enabled: not loaded at boot' : `; not saved in /${BOOT_CONF}: lost at reboot`) : '';
    const changes = [];
    if (!(applied && !drifted)) changes.push({ target: `nft table ${TABLE}`, before: live ?? '(absent)', after: wanted });
    if (!persisted) {
      changes.push({ target: `/${BOOT_CONF}`, before: conf ?? '(absent)', after: withBootBlock(conf, wanted)! });
      if (atBoot === false) changes.push({ target: 'nftables.service', before: 'disabled', after: 'enabled (loads the ruleset at boot)' });
    }
    return {
      status,
      current: `${table}${boot}`,
      wanted: `table ${TABLE}: ssh ${fw.sshPort} from ${fw.sshCidrs.join(',')}, public ${fw.publicPorts.join(',')}, management ${fw.managementPort} from ${fw.monitoringCidrs.join(',') || 'nowhere'}, NATS out; saved for boot`,
      changes,
    };
  },
  async apply(env) {
    const fw = env.params.firewall;
    if (!fw) throw new RuleRefused('refused: no firewall parameters given (params.firewall)');
    const wanted = await renderFirewall(fw, env.params.natsEndpoints);
    const before: Before = { table: await listing(env), saved: await saved(env), bootConf: await readBootConf(env) };
    const backstop = await startBackstop(env, before.table, fw.confirmSeconds + BACKSTOP_MARGIN_SEC);
    let kept: boolean;
    try {
      await load(env, wanted);
      kept = await deadManSwitch({
        confirm: env.reachesHub,
        seconds: fw.confirmSeconds,
        revert: () => load(env, before.table),
        signal: env.signal,
      });
    } finally {
      await backstop.cancel();
    }
    if (!kept)
      throw new RuleRefused(`reverted: the agent could not reach NATS through the new ruleset within ${fw.confirmSeconds}s, so the previous one is back`);
    await remember(env, wanted, await listing(env));
    // Saved for boot only once the switch kept it: a ruleset that cut the agent off never reaches the boot config.
    await writeBootConf(env, withBootBlock(before.bootConf ?? null, wanted));
    if ((await loadedAtBoot(env)) === false) {
      await mustRun(env.run, 'systemctl', ['enable', 'nftables.service']);
      before.enabledAtBoot = true;
    }
    return before;
  },
  async rollback(env, before) {
    await load(env, before.table);
    await remember(env, before.saved?.source ?? null, before.saved?.listing ?? null);
    if (before.bootConf !== undefined) await writeBootConf(env, before.bootConf);
    if (before.enabledAtBoot) await env.run('systemctl', ['disable', 'nftables.service']);
  },
});
