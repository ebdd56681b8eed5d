import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@keyfleet/log';
import { keycloakConfig } from '@keyfleet/proto/v1';
import { ensurePostgresImage, startDockerd, testPort, type DockerEngine } from '@keyfleet/test-harness';
import type { KeycloakInstanceRecord } from '../../instance/instance-store.js';
import type { KeycloakConfig, VerifyReport } from '../../keycloak-types.js';
import { freePorts } from '../free-port.js';
import type { RuntimeContext } from '../keycloak-runtime.js';
import { followDockerStream } from './follow-docker-stream.js';
import { DockerRuntime } from './docker-runtime.js';

const log = createLogger('docker-runtime-test', { level: 'silent' });

/**
 * Stands in for the Keycloak image's kc.sh (perl is in the Debian base): `build` succeeds, other
 * commands are unknown (update-compatibility: unavailable), `start` serves health UP on both ports
 * naming the port, or exits with Keycloak 26.7.4's words when one of them is taken.
 */
const KC_SH = `#!/bin/sh
case "$1" in
  build) exit 0 ;;
  start) ;;
  *) echo "Unknown command: $1" >&2; exit 2 ;;
esac
exec perl -MIO::Socket::INET -MIO::Select -e '
$SIG{TERM} = sub { exit 0 };
my $sel = IO::Select->new;
my %port;
for my $p ($ENV{KC_HTTP_PORT}, $ENV{KC_HTTP_MANAGEMENT_PORT}) {
  my $s = IO::Socket::INET->new(LocalAddr => $ENV{KC_HTTP_HOST} || "0.0.0.0", LocalPort => $p, Listen => 16, Proto => "tcp");
  if (!$s) { print STDERR "ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) ERROR: Port already bound: $p: Address already in use\\n"; exit 1 }
  $port{fileno($s)} = $p;
  $sel->add($s);
}
while (1) {
  for my $l ($sel->can_read) {
    my $c = $l->accept or next;
    while (defined(my $line = <$c>)) { last if $line =~ /^\\r?$/ }
    my $body = "{\\"status\\":\\"UP\\",\\"port\\":" . $port{fileno($l)} . "}";
    print $c "HTTP/1.0 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: " . length($body) . "\\r\\nConnection: close\\r\\n\\r\\n" . $body;
    close $c;
  }
}
'
`;

/** The stand-in image, built once per kc.sh on the Debian base the harness's images share. */
async function standInImage(docker: Dockerode, dockerHost: string): Promise<string> {
  const tag = `keyfleet-test/keycloak-stand-in:${createHash('sha256').update(KC_SH).digest('hex').slice(0, 12)}`;
  if (
    await docker
      .getImage(tag)
      .inspect()
      .then(
        () => true,
        () => false,
      )
  )
    return tag;
  // Builds keyfleet/debian-base on a fresh engine (cached by every later run).
  await ensurePostgresImage(dockerHost);
  const context = pack();
  context.entry({ name: 'Dockerfile' }, 'FROM keyfleet/debian-base:bookworm\nCOPY kc.sh /opt/keycloak/bin/kc.sh\nENTRYPOINT ["/opt/keycloak/bin/kc.sh"]\n');
  context.entry({ name: 'kc.sh', mode: 0o755 }, KC_SH);
  context.finalize();
  await followDockerStream(
    docker,
    await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, networkmode: 'none', forcerm: true } as Dockerode.ImageBuildOptions),
  );
  return tag;
}

describe('DockerRuntime with a stand-in Keycloak image (real dockerd, real front)', () => {
  const prefix = `kf-test-ports-${randomBytes(3).toString('hex')}`;
  let engine: DockerEngine;
  let dir: string;
  let base: KeycloakConfig;
  let record: KeycloakInstanceRecord | undefined;
  let thief: Server;
  let takenPort: number;
  const steps: string[] = [];
  const ctx: RuntimeContext = { signal: new AbortController().signal, log, note: (step, detail) => void steps.push(detail ? `${step}: ${detail}` : step) };
  const servedPort = async () => ((await (await fetch(`http://127.0.0.1:${base.httpPort}`)).json()) as { port: number }).port;
  const verifyAt = async (at: { baseUrl: string }): Promise<VerifyReport> => {
    const ok = (await fetch(at.baseUrl)).ok;
    return { ok, checkedAt: new Date().toISOString(), checks: [{ name: 'health', ok, detail: ok ? 'UP' : 'down', ms: 1 }] };
  };
  /** Backend ports as the runtime chooses them, but the first choice has `index` replaced by the port the thief holds. */
  const chosen: number[][] = [];
  const taking = (index: 0 | 1) => async () => {
    const ports = await freePorts(2);
    if (chosen.length === 0) ports[index] = takenPort;
    chosen.push(ports);
    return ports;
  };
  const runtime = (index: 0 | 1) => DockerRuntime.open(dir, log, { DOCKER_HOST: engine.dockerHost, KEYFLEET_DOCKER_NAME_PREFIX: prefix }, taking(index));

  beforeAll(async () => {
    engine = await startDockerd();
    dir = await mkdtemp(join(tmpdir(), 'kf-docker-runtime-'));
    // Chosen free, then taken before Keycloak binds it: what another process or an outgoing connection does at random.
    thief = createServer();
    thief.listen(0, '127.0.0.1');
    await once(thief, 'listening');
    takenPort = (thief.address() as { port: number }).port;
    const httpPort = testPort();
    base = keycloakConfig.parse({
      version: '26.7.4',
      runtime: 'docker',
      image: await standInImage(new Dockerode({ socketPath: engine.socketPath }), engine.dockerHost),
      database: { kind: 'external', url: 'jdbc:postgresql://127.0.0.1:5432/keycloak', username: 'keycloak', password: { $secret: 'db', value: 'db-pass' } },
      hostname: `http://127.0.0.1:${httpPort}`,
      httpPort,
      managementPort: testPort(),
      bootstrapAdmin: { username: 'admin', password: { $secret: 'adm', value: 'adm-pass' } },
    });
  }, 20 * 60_000);

  afterAll(async () => {
    thief?.close();
    // Also when a test failed before a record existed: no container, volume or front may outlive the file.
    if (engine) {
      await (await runtime(0)).remove(record ?? ({} as KeycloakInstanceRecord));
      await engine.stop();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 5 * 60_000);

  it(
    'starts a new container again on new ports when another process took a backend port before Keycloak bound it (install, side-by-side update)',
    async () => {
      record = await (await runtime(0)).install(base, undefined, ctx);
      expect(chosen).toHaveLength(2);
      expect(steps.join('\n')).toMatch(
        new RegExp(`backend port taken: Keycloak exited: port ${takenPort} was taken by another process[^\\n]*start 2 of 3\\)\\ncreated container ${prefix}`),
      );
      expect(record.docker).toMatchObject({ containerName: prefix, backendHttpPort: chosen[1]![0], backendManagementPort: chosen[1]![1] });
      // The front opened to the first ports was re-pointed to the new ones.
      expect(await servedPort()).toBe(chosen[1]![0]);

      chosen.length = 0;
      steps.length = 0;
      const old = record;
      record = await (await runtime(1)).update(old, { ...base, memoryLimitMb: 512 }, ctx, verifyAt);
      expect(steps.join('\n')).toMatch(
        new RegExp(
          `strategy: side by side[\\s\\S]*backend port taken: Keycloak exited: port ${takenPort} was taken by another process[^\\n]*start 2 of 3\\)\\nstarted the new container[^\\n]*\\nnew container ready[\\s\\S]*switched traffic`,
        ),
      );
      expect(record.docker).toMatchObject({ containerName: prefix, backendHttpPort: chosen[1]![0], backendManagementPort: chosen[1]![1] });
      expect(await servedPort()).toBe(chosen[1]![0]);
      expect((await fetch(`http://127.0.0.1:${base.managementPort}/health/ready`)).status).toBe(200);
    },
    10 * 60_000,
  );
});
