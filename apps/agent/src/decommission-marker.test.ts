import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decommissionMarker } from './decommission-marker.js';

describe('decommissionMarker', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-marker-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is read back for its host only; a new enrollment (another host id) or a torn file voids it', async () => {
    expect(await decommissionMarker.read(dir, 'h_1')).toBeUndefined();
    const marker = { hostId: 'h_1', at: new Date().toISOString(), reason: 'NATS: User Authentication Revoked' };
    await decommissionMarker.write(dir, marker);
    expect((await stat(decommissionMarker.path(dir))).mode & 0o777).toBe(0o600);
    expect(await decommissionMarker.read(dir, 'h_1')).toEqual(marker);
    expect(await decommissionMarker.read(dir, 'h_2')).toBeUndefined();
    await writeFile(decommissionMarker.path(dir), '{"hostId": "h_1", ');
    expect(await decommissionMarker.read(dir, 'h_1')).toBeUndefined();
  });
});
