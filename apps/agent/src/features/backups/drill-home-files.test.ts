import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrillHomeFiles } from './drill-home-files.js';

async function* chunks(...parts: string[]) {
  for (const p of parts) yield Buffer.from(p);
}

describe('DrillHomeFiles', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'kf-drill-files-'));
  });
  afterAll(() => rm(stateDir, { recursive: true, force: true }));

  it('stages providers and themes under their home paths, in a 0700 dir that goes with remove', async () => {
    const files = await DrillHomeFiles.create(stateDir);
    expect((await stat(files.dir)).mode & 0o777).toBe(0o700);
    expect(DrillHomeFiles.holds('keycloak/themes/kf/login/theme.properties')).toBe(true);
    expect(DrillHomeFiles.holds('keycloak/providers/x.jar')).toBe(true);
    expect(DrillHomeFiles.holds('keycloak/conf/keycloak.conf')).toBe(false);
    await files.write('keycloak/themes/kf/login/theme.properties', chunks('parent=', 'keycloak\n'), 0o644);
    expect(await readFile(join(files.dir, 'themes', 'kf', 'login', 'theme.properties'), 'utf8')).toBe('parent=keycloak\n');
    await files.remove();
    await expect(stat(files.dir)).rejects.toThrow(/ENOENT/);
  });

  it('refuses an entry whose name leaves the home', async () => {
    const files = await DrillHomeFiles.create(stateDir);
    await expect(files.write('keycloak/themes/../../../escape', chunks('x'), 0o644)).rejects.toThrow(
      'tar entry keycloak/themes/../../../escape leaves the Keycloak home',
    );
    await files.remove();
  });

  it('keys the drill home by the backup’s providers and themes only', () => {
    const sha = (c: string) => c.repeat(64);
    const manifest = {
      files: [
        { path: 'keycloak/conf/keycloak.conf', size: 1, sha256: sha('a') },
        { path: 'keycloak/providers/p.jar', size: 2, sha256: sha('b') },
        { path: 'keycloak/themes/t/login/theme.properties', size: 3, sha256: sha('c') },
      ],
    } as Parameters<typeof DrillHomeFiles.key>[0];
    expect(DrillHomeFiles.key(manifest)).toBe(`keycloak/providers/p.jar ${sha('b')}\nkeycloak/themes/t/login/theme.properties ${sha('c')}`);
  });
});
