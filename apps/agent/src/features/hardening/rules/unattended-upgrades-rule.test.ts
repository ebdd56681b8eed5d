import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RuleEnv } from '../hardening-rule.js';
import { RuleRefused } from '../rule-refused.js';
import { debianRoot } from '../testing/debian-root.js';
import { testRuleEnv } from '../testing/rule-env.js';
import { treeDigest } from '../testing/tree-digest.js';
import { unattendedUpgradesRule } from './unattended-upgrades-rule.js';

/** Works on files only (dpkg's status database and APT's config), so it runs on a temp root with no runner needed. */
describe('updates.unattended rule', () => {
  let root: string;
  beforeEach(async () => {
    root = await debianRoot();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const env = (): RuleEnv => testRuleEnv(root);
  const conf = 'etc/apt/apt.conf.d/20auto-upgrades';

  it('without the package: the finding names it and apply refuses, changing nothing', async () => {
    // Removed but not purged: dpkg keeps the stanza with its config files, which is not installed.
    await writeFile(join(root, 'var/lib/dpkg/status'), 'Package: unattended-upgrades\nStatus: deinstall ok config-files\n');
    const check = await unattendedUpgradesRule.check(env());
    expect(check).toMatchObject({ status: 'fail', reason: expect.stringContaining('apt-get install unattended-upgrades') });
    const digest = await treeDigest(root);
    await expect(unattendedUpgradesRule.apply(env(), check)).rejects.toThrow(RuleRefused);
    expect(await treeDigest(root)).toEqual(digest);
  });

  it('turns both settings on, keeps the file’s other settings, and rollback restores it byte for byte', async () => {
    const previous = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "0";\nAPT::Periodic::AutocleanInterval "7";\n';
    await writeFile(join(root, conf), previous);
    const check = await unattendedUpgradesRule.check(env());
    expect(check).toMatchObject({
      status: 'fail',
      changes: [{ target: `/${conf} APT::Periodic::Unattended-Upgrade`, before: '0', after: '"1"' }],
    });
    const digest = await treeDigest(root);
    const before = await unattendedUpgradesRule.apply(env(), check);
    const written = await readFile(join(root, conf), 'utf8');
    expect(written).toContain('APT::Periodic::AutocleanInterval "7";');
    expect(written).toContain('APT::Periodic::Unattended-Upgrade "1";');
    expect(await unattendedUpgradesRule.check(env())).toMatchObject({ status: 'pass' });
    await unattendedUpgradesRule.rollback(env(), before);
    expect(await treeDigest(root)).toEqual(digest);
  });

  it('creates the file when absent, and rollback removes it', async () => {
    const digest = await treeDigest(root);
    const check = await unattendedUpgradesRule.check(env());
    expect(check.changes).toHaveLength(2);
    const before = await unattendedUpgradesRule.apply(env(), check);
    expect(await unattendedUpgradesRule.check(env())).toMatchObject({ status: 'pass' });
    await unattendedUpgradesRule.rollback(env(), before);
    expect(await treeDigest(root)).toEqual(digest);
  });
});
