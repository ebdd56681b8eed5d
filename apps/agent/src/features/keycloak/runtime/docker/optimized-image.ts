import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { followDockerStream } from './follow-docker-stream.js';

export interface OptimizedImageOptions {
  /** The Keycloak image (official layout: /opt/keycloak/bin/kc.sh as the entrypoint). */
  base: string;
  baseId: string;
  version: string;
  build: string[];
  note(step: string): void;
  signal: AbortSignal;
}

/**
 * The base image with `kc.sh build` run for these options, so containers start with
 * `--optimized` (Keycloak's recommended production image). Built once per base image and
 * options, then reused; tagged keyfleet-keycloak-optimized:<version>-<hash>.
 */
export async function optimizedImage(docker: Docker, o: OptimizedImageOptions): Promise<string> {
  const key = createHash('sha256')
    .update(`${o.baseId}\n${o.build.join('\n')}`)
    .digest('hex')
    .slice(0, 12);
  const tag = `keyfleet-keycloak-optimized:${o.version}-${key}`;
  const exists = await docker
    .getImage(tag)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (exists) return tag;
  o.note(`building ${tag}: kc.sh build ${o.build.join(' ')}`);
  const dockerfile = [`FROM ${o.base}`, `RUN /opt/keycloak/bin/kc.sh build ${o.build.join(' ')}`, ''].join('\n');
  const context = pack();
  context.entry({ name: 'Dockerfile' }, dockerfile);
  context.finalize();
  try {
    await followDockerStream(
      docker,
      await docker.buildImage(
        context as unknown as NodeJS.ReadableStream,
        {
          t: tag,
          labels: { 'keyfleet.managed': 'true', 'keyfleet.keycloak-build': o.build.join(' ') },
          // kc.sh build needs no network; "none" also works on engines without a bridge.
          networkmode: 'none',
          forcerm: true,
          abortSignal: o.signal,
        } as Docker.ImageBuildOptions,
      ),
    );
  } catch (err) {
    throw new Error(`building the optimized Keycloak image (kc.sh build ${o.build.join(' ')}) failed: ${(err as Error).message}`);
  }
  return tag;
}
