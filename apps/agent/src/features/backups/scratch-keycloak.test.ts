import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../keycloak/index.js';
import { ScratchKeycloak } from './scratch-keycloak.js';

describe('ScratchKeycloak with a stand-in kc.sh (real processes)', () => {
  let dir: string;
  let thief: Server;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-scratch-keycloak-'));
    thief = createServer();
    thief.listen(0, '127.0.0.1');
    await once(thief, 'listening');
  });

  afterAll(async () => {
    thief?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts again on new ports when another process took one before it bound it, without a second bootstrap-admin', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, 'bin'), { recursive: true });
    // bootstrap-admin writes down each client it adds; start serves health UP on both ports, or
    // exits with Keycloak 26.7.4's words when one of them is taken.
    await writeFile(
      join(home, 'bin', 'kc.sh'),
      `#!/bin/sh
[ "$1" = bootstrap-admin ] && { echo "$3" >> "${join(dir, 'bootstrap-admins')}"; exit 0; }
exec ${process.execPath} -e '
const http = require("node:http");
for (const port of [process.env.KC_HTTP_PORT, process.env.KC_HTTP_MANAGEMENT_PORT])
  http.createServer((req, res) => res.end(JSON.stringify({ status: "UP" }))).once("error", () => {
    console.error("ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) ERROR: Port already bound: " + port + ": Address already in use");
    process.exit(1);
  }).listen(Number(port), "127.0.0.1");
'
`,
    );
    await chmod(join(home, 'bin', 'kc.sh'), 0o755);
    const taken = (thief.address() as { port: number }).port;
    const chosen: number[][] = [];
    const notes: string[] = [];
    const keycloak = await ScratchKeycloak.start({
      home,
      javaHome: '/nonexistent',
      db: { url: 'jdbc:postgresql://127.0.0.1:1/none', username: 'u', password: 'p' },
      stateDir: join(dir, 'state'),
      signal: AbortSignal.timeout(60_000),
      note: (why) => notes.push(why),
      ports: async () => {
        const ports = await freePorts(2);
        if (chosen.length === 0) ports[1] = taken;
        chosen.push(ports);
        return ports;
      },
    });
    try {
      expect(chosen).toHaveLength(2);
      expect(notes).toEqual([expect.stringMatching(new RegExp(`^Keycloak exited: port ${taken} was taken by another process.*\\(start 2 of 3\\)$`))]);
      expect(keycloak.baseUrl).toBe(`http://127.0.0.1:${chosen[1]![0]}`);
      expect((await fetch(`http://127.0.0.1:${chosen[1]![1]}/health/ready`)).status).toBe(200);
      // One drill client in the scratch copy, the one the drill uses and keeps out of the realm export.
      expect((await readFile(join(dir, 'bootstrap-admins'), 'utf8')).trim().split('\n')).toEqual([`--client-id=${keycloak.admin.clientId}`]);
    } finally {
      await keycloak.stop();
    }
  });
});
