import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { containerLogs } from './container-logs.js';
import { DATABASE_USER, databaseContainerSpec, type DatabaseContainerInput } from './database-container-spec.js';

const READY_TIMEOUT_MS = 120_000;

async function execCode(container: Docker.Container, cmd: string[]): Promise<number> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
    stream.resume();
  });
  return (await exec.inspect()).ExitCode ?? 1;
}

/**
 * The bundled Postgres running and accepting connections: created (with its data volume) when
 * missing, started when stopped, then `pg_isready` until it answers. An existing container is
 * kept as it is: its data volume is the Keycloak database.
 */
export async function ensureBundledDatabase(docker: Docker, input: DatabaseContainerInput, note: (step: string) => void, signal: AbortSignal): Promise<void> {
  const container = docker.getContainer(input.name);
  let info = await container.inspect().catch(() => undefined);
  if (!info) {
    note(`creating the bundled database container ${input.name} (${input.image})`);
    const volume = await docker
      .getVolume(input.volume)
      .inspect()
      .catch(() => undefined);
    if (!volume) await docker.createVolume({ Name: input.volume, Labels: { 'keyfleet.managed': 'true', 'keyfleet.instance': input.instance } });
    await docker.createContainer(databaseContainerSpec(input));
    info = await container.inspect();
  }
  if (!info.State.Running) {
    await container.start();
    note(`started the bundled database ${input.name}`);
  }
  const port = input.networkMode === 'host' ? input.port : 5432;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    signal.throwIfAborted();
    if ((await execCode(container, ['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', DATABASE_USER]).catch(() => 1)) === 0) return;
    const state = (await container.inspect()).State;
    if (!state.Running || Date.now() > deadline) {
      const logs = await containerLogs(container, 20).catch(() => '');
      throw new Error(
        `the bundled database ${input.name} ${state.Running ? `is not ready within ${READY_TIMEOUT_MS / 1000}s` : `exited (${state.ExitCode})`}; last log lines:\n${logs.trim()}`,
      );
    }
    await sleep(500, undefined, { signal });
  }
}
