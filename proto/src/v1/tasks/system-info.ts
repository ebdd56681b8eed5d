import { z } from 'zod';
import { defineTask } from '../define-task.js';

export const systemInfo = defineTask({
  name: 'system.info',
  description: 'Reports OS, kernel, CPU, memory, disks and whether Docker and Java are present.',
  input: z.object({}).strict(),
  output: z.object({
    hostname: z.string(),
    os: z.object({ platform: z.string(), distro: z.string(), release: z.string(), kernel: z.string(), arch: z.string() }),
    cpu: z.object({ model: z.string(), cores: z.number().int(), physicalCores: z.number().int() }),
    memory: z.object({ totalBytes: z.number(), availableBytes: z.number() }),
    disks: z.array(z.object({ mount: z.string(), fs: z.string(), sizeBytes: z.number(), usedBytes: z.number() })),
    docker: z.object({ present: z.boolean(), version: z.string().optional() }),
    java: z.object({ present: z.boolean(), version: z.string().optional() }),
  }),
  defaultTimeoutMs: 30_000,
  summary: (o) =>
    `${o.os.distro} ${o.os.release} (${o.os.arch}), ${o.cpu.cores} cores, ${Math.round(o.memory.totalBytes / 2 ** 30)} GiB` +
    `${o.docker.present ? `, docker ${o.docker.version ?? ''}`.trimEnd() : ''}${o.java.present ? `, java ${o.java.version ?? ''}`.trimEnd() : ''}`,
});
