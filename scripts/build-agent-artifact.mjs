#!/usr/bin/env node
// The agent as one file a host can run with nothing but Node >= 20.19: every JavaScript
// dependency is bundled (unlike the hub and CLI bundles, which keep npm packages external),
// so no node_modules is needed on the host. Native add-ons cannot be bundled; the agent's
// dependencies load theirs only inside try/catch (ssh2's sshcrypto.node and cpu-features,
// through dockerode → docker-modem, used only for ssh:// Docker hosts; systeminformation's
// macOS sensors), so they stay runtime requires that fall back to pure JS when absent.
//
// Writes <out>/keyfleet-agent-<version>.mjs, its sha256 beside it in sha256sum format (what
// the hub announces, and what install and upgrade check downloads against) and an external
// source map (kept for decoding stack traces, never shipped).
//
//   node scripts/build-agent-artifact.mjs [--out DIR] [--version V]
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_ARTIFACT_DIR = join(root, 'apps/agent/dist/artifacts');
/** What `hello` accepts (64 chars) in the shape of semver, so versions sort and compare. */
const VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** Native add-ons (and the package that is nothing but one) stay runtime requires. */
const leaveNativeOut = {
  name: 'leave-native-add-ons-out',
  setup(build) {
    build.onResolve({ filter: /\.node$|^cpu-features$/ }, (args) => ({ path: args.path, external: true }));
  },
};

// Right after main.ts's own hashbang (esbuild keeps it first; a second would be a syntax error):
// an older Node stops with a clear message instead of an API error somewhere in the bundle.
const banner = `{const [a, b] = process.versions.node.split('.').map(Number); if (a < 20 || (a === 20 && b < 19)) { process.stderr.write('keyfleet-agent needs Node.js >= 20.19; this is ' + process.version + '\\n'); process.exit(1); }}
import { createRequire as __kfCreateRequire } from 'node:module';
const require = __kfCreateRequire(import.meta.url);`;

/**
 * Builds the artifact; resolves with where it is and what it is. `version` defaults to the
 * agent package's and is stamped into the bundle (`keyfleet-agent --version`, hello).
 * @param {{ outDir?: string, version?: string }} [opts]
 * @returns {Promise<{ file: string, version: string, sha256: string, size: number }>}
 */
export async function buildAgentArtifact(opts = {}) {
  const pkg = JSON.parse(await readFile(join(root, 'apps/agent/package.json'), 'utf8'));
  const version = opts.version ?? pkg.version;
  if (!VERSION.test(version) || version.length > 64) throw new Error(`agent version "${version}" is not a semver version of at most 64 characters`);
  const outDir = resolve(opts.outDir ?? DEFAULT_ARTIFACT_DIR);
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `keyfleet-agent-${version}.mjs`);
  const entry = join(root, 'apps/agent/src/main.ts');
  // The file is run as a program (`./keyfleet-agent.mjs`, the unit's symlink): the hashbang is main.ts's.
  if (!(await readFile(entry, 'utf8')).startsWith('#!')) throw new Error(`${entry} should start with a hashbang line`);
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile: `${file}.tmp`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Whitespace and syntax only: 3 MB instead of 4.8 MB per host and per upgrade, while
    // function names in stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    sourcemap: 'external',
    sourcesContent: false,
    define: { __KEYFLEET_AGENT_VERSION__: JSON.stringify(version) },
    banner: { js: banner },
    plugins: [leaveNativeOut],
    write: false,
    logLevel: 'silent',
  });
  const warnings = result.warnings.filter((w) => !/inside a try\/catch/i.test(w.notes.map((n) => n.text).join(' ')));
  for (const w of warnings) console.warn(`build-agent-artifact: warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
  const js = result.outputFiles.find((f) => f.path.endsWith('.mjs.tmp'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  if (!js || !map) throw new Error('esbuild produced no bundle');
  const sha256 = createHash('sha256').update(js.contents).digest('hex');
  // Written aside and renamed, so a hub serving this directory never reads half a file.
  await writeFile(`${file}.tmp`, js.contents, { mode: 0o755 });
  await chmod(`${file}.tmp`, 0o755);
  await rename(`${file}.tmp`, file);
  await writeFile(`${file}.map`, map.contents);
  await writeFile(`${file}.sha256.tmp`, `${sha256}  ${basename(file)}\n`);
  await rename(`${file}.sha256.tmp`, `${file}.sha256`);
  return { file, version, sha256, size: js.contents.byteLength };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, version: { type: 'string' } } });
  const started = Date.now();
  try {
    const a = await buildAgentArtifact({ outDir: values.out, version: values.version });
    console.log(`build: ${a.file} ${a.version} (${(a.size / 1024 / 1024).toFixed(1)} MiB, sha256 ${a.sha256}, ${Date.now() - started} ms)`);
  } catch (err) {
    console.error(`build-agent-artifact: ${err.message}`);
    process.exit(1);
  }
}
