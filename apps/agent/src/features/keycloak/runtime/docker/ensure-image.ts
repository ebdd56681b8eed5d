import { createReadStream } from 'node:fs';
import type Docker from 'dockerode';
import { TaskFailure } from '../../../../task-failure.js';
import { followDockerStream } from './follow-docker-stream.js';

const present = (docker: Docker, ref: string) =>
  docker
    .getImage(ref)
    .inspect()
    .then(
      (info) => info,
      () => undefined,
    );

/**
 * Makes `ref` available on the engine: already there, loaded from `tarball` (air-gapped hosts,
 * `docker save` output), or pulled from its registry. Returns the image id.
 */
export async function ensureImage(
  docker: Docker,
  ref: string,
  tarball: string | undefined,
  note: (step: string) => void,
  signal: AbortSignal,
): Promise<string> {
  const have = await present(docker, ref);
  if (have) return have.Id;
  if (tarball) {
    note(`loading image ${ref} from ${tarball}`);
    await followDockerStream(docker, await docker.loadImage(createReadStream(tarball), { abortSignal: signal }));
    const loaded = await present(docker, ref);
    if (!loaded) throw new TaskFailure('invalid_input', `${tarball} was loaded but holds no image ${ref}`);
    return loaded.Id;
  }
  note(`pulling image ${ref}`);
  try {
    await followDockerStream(docker, await docker.pull(ref, { abortSignal: signal }));
  } catch (err) {
    throw new Error(`pulling ${ref} failed (give imageTarball on hosts without registry access): ${(err as Error).message}`);
  }
  const pulled = await present(docker, ref);
  if (!pulled) throw new Error(`pulled ${ref}, but the engine does not show it`);
  return pulled.Id;
}
