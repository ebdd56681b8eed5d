import { runImageScript } from './docker-image-script.js';

export interface KeycloakImageOptions {
  /** Build-time database of the image; default postgres (tag keyfleet/keycloak:<version>), else tag suffix -<db>. */
  db?: 'postgres' | 'dev-file';
  /** The Keycloak release inside (its dist fetched and cached like the process runtime's); default the tests' release. */
  version?: string;
}

/**
 * The locally built Keycloak image (debootstrap base + JDK + dist, `kc.sh build` done, ENTRYPOINT kc.sh,
 * runs as uid 1000): built once, then cached by the engine. Returns its tag, e.g. keyfleet/keycloak:26.7.4.
 */
export async function ensureKeycloakImage(dockerHost: string, opts: KeycloakImageOptions = {}): Promise<string> {
  const [tag] = await runImageScript(dockerHost, ['keycloak'], {
    KEYCLOAK_IMAGE_DB: opts.db ?? 'postgres',
    ...(opts.version ? { KEYCLOAK_VERSION: opts.version } : {}),
  });
  return tag!;
}
