import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareVersions } from './compare-versions.js';

export interface AgentArtifact {
  version: string;
  /** Hex sha256 as the build wrote it beside the file: what installs and upgrades check downloads against. */
  sha256: string;
  size: number;
  file: string;
}

const NAME = /^keyfleet-agent-(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)\.mjs$/;
const SHA256_LINE = /^([0-9a-f]{64})\s/;

/**
 * The agent artifacts this hub serves: `keyfleet-agent-<version>.mjs` files, each with the
 * `.sha256` the build wrote beside it, in one directory (`KEYFLEET_AGENT_ARTIFACT`, else
 * `apps/agent/dist/artifacts` of the checkout or image the hub runs from, which `pnpm build`
 * fills). The directory is read on every call, so an artifact dropped in is served at once.
 *
 * The announced sha256 is the build's, never recomputed here: a file changed after the build
 * is served as it is and refused by every host that checks it (install and upgrade do).
 */
export class AgentArtifacts {
  constructor(
    /** Undefined: no directory was configured and none was found beside the hub. */
    readonly dir: string | undefined,
    /** The version the fleet should run; default the newest artifact. */
    private readonly wanted?: string,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): AgentArtifacts {
    const configured = env.KEYFLEET_AGENT_ARTIFACT?.trim();
    return new AgentArtifacts(configured ? resolve(configured) : findBuildDir(), env.KEYFLEET_AGENT_VERSION?.trim() || undefined);
  }

  /** Every servable artifact, newest first. Files without a readable `.sha256` are not announced. */
  async list(): Promise<AgentArtifact[]> {
    if (!this.dir) return [];
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const found = await Promise.all(
      names.map(async (name): Promise<AgentArtifact | undefined> => {
        const version = name.match(NAME)?.[1];
        if (!version || version.length > 64) return undefined;
        const file = join(this.dir!, name);
        const [sha, info] = await Promise.all([readFile(`${file}.sha256`, 'utf8').catch(() => ''), stat(file).catch(() => undefined)]);
        const sha256 = sha.match(SHA256_LINE)?.[1];
        if (!sha256 || !info?.isFile()) return undefined;
        return { version, sha256, size: info.size, file };
      }),
    );
    return found.filter((a): a is AgentArtifact => a !== undefined).sort((a, b) => compareVersions(b.version, a.version));
  }

  /** The version the hub wants every agent on: KEYFLEET_AGENT_VERSION, else its newest artifact. */
  async wantedVersion(): Promise<string | undefined> {
    return this.wanted ?? (await this.list())[0]?.version;
  }

  /** One artifact, by version or (without one) the wanted one. */
  async get(version?: string): Promise<AgentArtifact | undefined> {
    const want = version ?? (await this.wantedVersion());
    return (await this.list()).find((a) => a.version === want);
  }

  /** Why there is nothing to serve, for a 404 the operator can act on. */
  describeMissing(version: string | undefined, available: readonly AgentArtifact[]): string {
    if (!this.dir) {
      return 'this hub has no agent artifacts: set KEYFLEET_AGENT_ARTIFACT to a directory of keyfleet-agent-<version>.mjs files with their .sha256 (`pnpm build` writes them to apps/agent/dist/artifacts)';
    }
    if (available.length === 0) return `no agent artifact (keyfleet-agent-<version>.mjs with its .sha256) in ${this.dir}`;
    return `no agent artifact for version ${version ?? '(none wanted)'}; available: ${available.map((a) => a.version).join(', ')}`;
  }
}

/** apps/agent/dist/artifacts of the checkout (from source) or image (bundle) this hub runs from. */
function findBuildDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 7; i++) {
    const candidate = join(dir, 'apps/agent/dist/artifacts');
    if (existsSync(join(dir, 'apps/agent'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}
