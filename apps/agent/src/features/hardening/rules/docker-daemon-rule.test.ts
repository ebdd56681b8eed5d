import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RuleEnv } from '../hardening-rule.js';
import { debianRoot } from '../testing/debian-root.js';
import { testRuleEnv } from '../testing/rule-env.js';
import { treeDigest } from '../testing/tree-digest.js';
import { dockerDaemonRule } from './docker-daemon-rule.js';

/** Works on daemon.json only (dockerd is never restarted by it), so it runs on a temp root with no runner needed. */
describe('docker.daemon rule', () => {
  let root: string;
  beforeEach(async () => {
    root = await debianRoot();
    await mkdir(join(root, 'etc/docker'), { recursive: true });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const env = (): RuleEnv => testRuleEnv(root, { params: { runtime: 'docker' } });
  const daemonJson = 'etc/docker/daemon.json';

  it('merges the settings into daemon.json, keeping every other key, and rollback restores the exact file', async () => {
    const previous = '{"data-root":"/srv/docker","log-driver":"json-file","log-opts":{"compress":"true","max-size":"100m"},"live-restore":false}';
    await writeFile(join(root, daemonJson), previous);
    const digest = await treeDigest(root);
    const check = await dockerDaemonRule.check(env());
    expect(check).toMatchObject({ status: 'fail', reason: expect.stringContaining('systemctl reload docker') });
    expect(check.changes).toEqual([
      { target: '/etc/docker/daemon.json live-restore', before: 'false', after: 'true' },
      { target: '/etc/docker/daemon.json no-new-privileges', before: '(unset)', after: 'true' },
      { target: '/etc/docker/daemon.json log-opts.max-size', before: '"100m"', after: '"10m"' },
      { target: '/etc/docker/daemon.json log-opts.max-file', before: '(unset)', after: '"3"' },
    ]);
    const before = await dockerDaemonRule.apply(env(), check);
    expect(JSON.parse(await readFile(join(root, daemonJson), 'utf8'))).toEqual({
      'data-root': '/srv/docker',
      'live-restore': true,
      'no-new-privileges': true,
      'log-driver': 'json-file',
      'log-opts': { compress: 'true', 'max-size': '10m', 'max-file': '3' },
    });
    expect(await dockerDaemonRule.check(env())).toMatchObject({ status: 'pass', changes: [] });
    await dockerDaemonRule.rollback(env(), before);
    expect(await treeDigest(root)).toEqual(digest);
  });

  it('drops another log driver’s options with it, since json-file may not know them', async () => {
    await writeFile(join(root, daemonJson), '{"log-driver":"journald","log-opts":{"tag":"{{.Name}}","labels":"app"}}');
    await dockerDaemonRule.apply(env(), await dockerDaemonRule.check(env()));
    expect(JSON.parse(await readFile(join(root, daemonJson), 'utf8'))['log-opts']).toEqual({ 'max-size': '10m', 'max-file': '3' });
  });

  it('creates daemon.json when absent, and rollback removes it', async () => {
    const digest = await treeDigest(root);
    const before = await dockerDaemonRule.apply(env(), await dockerDaemonRule.check(env()));
    expect(await dockerDaemonRule.check(env())).toMatchObject({ status: 'pass' });
    await dockerDaemonRule.rollback(env(), before);
    expect(await treeDigest(root)).toEqual(digest);
  });

  it('reports invalid JSON with its reason and never overwrites it', async () => {
    await writeFile(join(root, daemonJson), '{"live-restore": true,}');
    const digest = await treeDigest(root);
    await expect(dockerDaemonRule.check(env())).rejects.toThrow(/^\/etc\/docker\/daemon\.json is not valid JSON \(.+\); fix it by hand/);
    await expect(dockerDaemonRule.apply(env(), { status: 'fail', current: '-', wanted: '-', changes: [] })).rejects.toThrow(/not valid JSON/);
    expect(await treeDigest(root)).toEqual(digest);
  });
});
