import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLine } from '@keyfleet/proto/v1';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogOffsets } from './log-offsets.js';
import { LogShipper } from './log-shipper.js';

describe('LogShipper', () => {
  let dir: string;
  let log: string;
  /** What "the hub" stored, keyed like the hub's table, so a line sent twice shows up once. */
  let stored: Map<string, LogLine>;
  let batches: Array<{ lines: LogLine[]; dropped: number }>;
  let hubUp: boolean;

  const shipper = async (extra: Partial<ConstructorParameters<typeof LogShipper>[0]> = {}) =>
    new LogShipper({
      files: [{ path: log, source: 'keycloak' }],
      offsets: await LogOffsets.open(dir),
      send: async (lines, dropped) => {
        if (!hubUp) throw new Error('no hub answered');
        batches.push({ lines, dropped });
        for (const l of lines) stored.set(`${l.stream}:${l.pos}`, l);
      },
      ...extra,
    });
  const texts = () => [...stored.values()].map((l) => l.line);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-logs-'));
    log = join(dir, 'keycloak.log');
    stored = new Map();
    batches = [];
    hubUp = true;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ships complete lines with their level, secrets redacted, and holds back a line still being written', async () => {
    await writeFile(
      log,
      '2026-12-01 10:00:00,001 INFO  [io.quarkus] Keycloak started\n2026-12-01 10:00:01,002 WARN  [org.keycloak] login password=hunter2 client_secret=abc\n',
    );
    await appendFile(log, '2026-12-01 10:00:02,003 ERROR [org.keycloak] Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.x.y\n2026-12-01 partial');
    const s = await shipper();
    await s.readOnce();
    await s.sendAll();
    expect([...stored.values()].map((l) => [l.level, l.line])).toEqual([
      ['info', '2026-12-01 10:00:00,001 INFO  [io.quarkus] Keycloak started'],
      ['warn', '2026-12-01 10:00:01,002 WARN  [org.keycloak] login password=[redacted] client_secret=[redacted]'],
      ['error', '2026-12-01 10:00:02,003 ERROR [org.keycloak] Authorization: Bearer [redacted]'],
    ]);
    await appendFile(log, ' now whole\n{"level":50,"msg":"agent failed"}\n');
    await s.readOnce();
    await s.sendAll();
    expect(texts().slice(3)).toEqual(['2026-12-01 partial now whole', '{"level":50,"msg":"agent failed"}']);
    expect([...stored.values()][4]?.level).toBe('error');
  });

  it('keeps its place only once the hub acknowledged: a restart neither loses nor repeats a line', async () => {
    await writeFile(log, 'INFO one\nINFO two\n');
    const first = await shipper();
    await first.readOnce();
    await first.sendAll();
    await appendFile(log, 'INFO three\n');
    hubUp = false;
    await first.readOnce();
    await expect(first.sendAll()).rejects.toThrow('no hub answered');
    // The agent restarts before the hub came back: the unacknowledged line is read again.
    hubUp = true;
    const second = await shipper();
    await second.readOnce();
    await second.sendAll();
    expect(batches.map((b) => b.lines.map((l) => l.line))).toEqual([['INFO one', 'INFO two'], ['INFO three']]);
    const third = await shipper();
    await third.readOnce();
    await third.sendAll();
    expect(batches).toHaveLength(2);
  });

  it('follows a rotated file and a truncated one from their start, under new stream names', async () => {
    await writeFile(log, 'INFO before rotation\n');
    const s = await shipper();
    await s.readOnce();
    await s.sendAll();
    await rename(log, `${log}.1`);
    await writeFile(log, 'INFO after rotation\n');
    await s.readOnce();
    await s.sendAll();
    // Truncated in place (same inode), then a shorter text than before at the same offsets.
    await truncate(log, 0);
    await appendFile(log, 'INFO truncated\n');
    await s.readOnce();
    await s.sendAll();
    expect(texts()).toEqual(['INFO before rotation', 'INFO after rotation', 'INFO truncated']);
    expect(new Set([...stored.values()].map((l) => l.stream)).size).toBe(3);
  });

  it('drops what overflows the queue while the hub is away, and reports the count with the next batch', async () => {
    const s = await shipper({ maxQueue: 2, batchLines: 10 });
    hubUp = false;
    await writeFile(log, 'INFO 1\nINFO 2\nINFO 3\n');
    await s.readOnce();
    await appendFile(log, 'INFO 4\nINFO 5\n');
    await s.readOnce();
    expect(s.droppedLines).toBe(3);
    hubUp = true;
    await s.sendAll();
    expect(batches).toEqual([{ lines: [expect.objectContaining({ line: 'INFO 1' }), expect.objectContaining({ line: 'INFO 2' })], dropped: 3 }]);
    expect(s.droppedLines).toBe(0);
  });

  it('starts a file met for the first time near its end, at a whole line', async () => {
    await writeFile(log, `${'INFO old line\n'.repeat(100)}INFO recent\n`);
    const s = await shipper({ firstTailBytes: 30 });
    await s.readOnce();
    await s.sendAll();
    expect(texts()).toEqual(['INFO old line', 'INFO recent']);
  });
});
