import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../../write-file-atomic.js';
import { defineRule, type RuleEnv } from '../hardening-rule.js';

const FILE = 'etc/docker/daemon.json';
const LOG_OPTS = { 'max-size': '10m', 'max-file': '3' };

type DaemonConfig = Record<string, unknown>;

interface Before {
  /** daemon.json's previous content, byte for byte; null when it did not exist. */
  file: string | null;
}

/**
 * dockerd re-reads only some keys on SIGHUP: live-restore is one, log-driver, log-opts and
 * no-new-privileges are not. Reloading first turns live-restore on, so the restart after it
 * keeps the containers (Keycloak) running; the other keys then hold for containers made afterwards.
 */
const ACTIVATE =
  'dockerd is not restarted by the agent: `systemctl reload docker` turns live-restore on, then `systemctl restart docker` (containers keep running) applies no-new-privileges and the log options to containers created afterwards';

/** The file's parsed object, {} when absent; anything else that is not a JSON object is an error, never overwritten. */
async function readConfig(env: RuleEnv): Promise<{ text: string | null; config: DaemonConfig }> {
  const path = join(env.root, FILE);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (text === null) return { text, config: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`/${FILE} is not valid JSON (${(err as Error).message}); fix it by hand, the rule does not overwrite it`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`/${FILE} is not a JSON object; fix it by hand, the rule does not overwrite it`);
  return { text, config: parsed as DaemonConfig };
}

const logOpts = (c: DaemonConfig) => (typeof c['log-opts'] === 'object' && c['log-opts'] !== null ? (c['log-opts'] as Record<string, unknown>) : {});

/** The config with the wanted keys set and every other key kept. */
function merged(c: DaemonConfig): DaemonConfig {
  // Another driver's options (journald's, syslog's) may be unknown to json-file, and dockerd refuses to start on them.
  const keptOpts = c['log-driver'] === undefined || c['log-driver'] === 'json-file' ? logOpts(c) : {};
  return { ...c, 'live-restore': true, 'no-new-privileges': true, 'log-driver': 'json-file', 'log-opts': { ...keptOpts, ...LOG_OPTS } };
}

const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));

/** Each wanted setting as `key` → value, for comparing and showing the change. */
function settings(c: DaemonConfig): Record<string, unknown> {
  const opts = logOpts(c);
  return {
    'live-restore': c['live-restore'],
    'no-new-privileges': c['no-new-privileges'],
    'log-driver': c['log-driver'],
    'log-opts.max-size': opts['max-size'],
    'log-opts.max-file': opts['max-file'],
  };
}

/** Docker's daemon settings that keep Keycloak up across dockerd restarts, stop privilege gains in containers and bound their logs. */
export const dockerDaemonRule = defineRule<Before>({
  id: 'docker.daemon',
  title: 'Docker daemon: live-restore, no-new-privileges, bounded logs',
  why: 'Without them a dockerd upgrade stops Keycloak, setuid binaries in a container gain privileges and container logs fill the disk.',
  runtimes: ['docker'],
  async check(env) {
    const { config } = await readConfig(env);
    const seen = settings(config);
    const wanted = settings(merged(config));
    const wrong = Object.keys(wanted).filter((k) => show(seen[k]) !== show(wanted[k]));
    return {
      status: wrong.length ? 'fail' : 'pass',
      current: Object.entries(seen)
        .map(([k, v]) => `${k} ${show(v)}`)
        .join(', '),
      wanted: Object.entries(wanted)
        .map(([k, v]) => `${k} ${show(v)}`)
        .join(', '),
      ...(wrong.length ? { reason: ACTIVATE } : {}),
      changes: wrong.map((k) => ({ target: `/${FILE} ${k}`, before: show(seen[k]), after: show(wanted[k]) })),
    };
  },
  async apply(env) {
    const { text, config } = await readConfig(env);
    const path = join(env.root, FILE);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, `${JSON.stringify(merged(config), null, 2)}\n`, 0o644);
    env.log.info({ file: `/${FILE}` }, ACTIVATE);
    return { file: text };
  },
  async rollback(env, before) {
    const path = join(env.root, FILE);
    if (before.file === null) await rm(path, { force: true });
    else await writeFileAtomic(path, before.file, 0o644);
  },
});
