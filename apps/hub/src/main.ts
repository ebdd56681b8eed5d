#!/usr/bin/env node
import { createProgram } from './create-program.js';
import type { Hub } from './hub.js';

let hub: Hub | undefined;
let closing = false;

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (closing || !hub) return;
  closing = true;
  process.stderr.write(`keyfleet-hub: ${signal} received, shutting down\n`);
  await hub.close();
  process.exit(0);
}

const program = createProgram({
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  onServing: (h) => {
    hub = h;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown(signal));
  },
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`keyfleet-hub: ${(err as Error).message}\n`);
  process.exit(1);
}
