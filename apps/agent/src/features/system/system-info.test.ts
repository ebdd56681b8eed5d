import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { taskDefinitions } from '@keyfleet/proto/v1';
import { systemInfo } from './system-info.js';
import { testTaskContext } from '../../testing/test-task-context.js';

const onPath = (bin: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

describe('system.info task', () => {
  it('reports this host in the declared shape, with Java detected as present or not', async () => {
    const out = await systemInfo({}, testTaskContext());
    const parsed = taskDefinitions['system.info'].output.parse(out);
    expect(parsed.memory.totalBytes).toBeGreaterThan(parsed.memory.availableBytes);
    expect(parsed.cpu.cores).toBeGreaterThan(0);
    expect(parsed.disks.some((d) => d.mount === '/')).toBe(true);
    expect(parsed.os.platform).toBe(process.platform);
    const javaExpected = process.env.JAVA_HOME ? true : onPath('java');
    expect(parsed.java.present).toBe(javaExpected);
    if (parsed.java.present) expect(parsed.java.version).toMatch(/^\d/);
  });
});
