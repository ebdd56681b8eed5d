import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './service-process.js';

export interface AgentArtifact {
  /** The built `keyfleet-agent-<version>.mjs`; its `.sha256` lies beside it. */
  file: string;
  version: string;
  sha256: string;
  size: number;
}

/**
 * Builds the self-contained agent artifact the way `pnpm build` does
 * (scripts/build-agent-artifact.mjs), stamped with `version`, into `outDir`: the directory a
 * hub serves with KEYFLEET_AGENT_ARTIFACT. Takes ~3 s of CPU per version.
 */
export async function buildAgentArtifact(opts: { outDir: string; version?: string }): Promise<AgentArtifact> {
  const args = [join(repoRoot, 'scripts/build-agent-artifact.mjs'), '--out', opts.outDir, ...(opts.version ? ['--version', opts.version] : [])];
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const proc = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    proc.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    proc.once('error', reject);
    proc.once('exit', resolve);
  });
  const line = output.join('').match(/^build: (\S+) (\S+) /m);
  if (code !== 0 || !line) throw new Error(`building the agent artifact failed (exit ${code}):\n${output.join('')}`);
  const file = line[1]!;
  const [sha256] = (await readFile(`${file}.sha256`, 'utf8')).split(/\s+/);
  return { file, version: line[2]!, sha256: sha256!, size: (await stat(file)).size };
}
