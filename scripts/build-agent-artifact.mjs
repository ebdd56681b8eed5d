#!/usr/bin/env node
// The agent as one file a host can run with nothing but Node >= 20.19: every JavaScript
// dependency is bundled (unlike the hub and CLI bundles, which keep npm packages external),
// so no node_modules is needed on the host. Native add-ons cannot be bundled; the agent's
// dependencies load theirs only inside try/catch (ssh2's sshcrypto.node and cpu-features,
// through dockerode → docker-modem, used only for ssh:// Docker hosts; systeminformation's
// macOS sensors), so they stay runtime requires that fall back to pure JS when absent.
//
// The code is split into chunks (esbuild splitting): the start path (core, proto, NATS, the
// features' registrations, services and commands) in a few, and each task handler with its
// dependencies (dockerode, acme-client, age, pg, the Keycloak admin client, systeminformation)
// in its own, loaded by lazyHandler when a task of that type first arrives. Node retains every
// byte of a module it loads (source text, and glibc heap from reading and compiling it), so an
// idle agent that loaded 4.6 MB of code it never runs cost ~35 MB private instead of ~17
// (docs/benchmarks.md).
// Install, upgrade, rollback, the hub and the tests all deal in ONE file with one sha256, so the
// chunks travel inside it: the artifact is a small loader followed by the chunks, compressed,
// in a trailing comment. At start the loader writes them once per build into
// `.keyfleet-agent-chunks/<hash>/` beside the artifact (that directory is as trusted as the
// artifact itself: whoever can write one can write the other; written aside and renamed, so a
// crash never leaves half a build), or into a private temporary directory when that place is
// not writable, and imports the start chunk from there. The comment stays in the loader's
// source (~1 MB), the price of keeping one file.
// The agent removes the builds there that no artifact beside it names any more at its start
// (apps/agent/src/features/agents/upgrade/stale-chunks.ts finds a loader's build by its
// `'.keyfleet-agent-chunks', '<hash>'`).
//
// Writes <out>/keyfleet-agent-<version>.mjs, its sha256 beside it in sha256sum format (what
// the hub announces, and what install and upgrade check downloads against) and external
// source maps of the chunks in <out>/keyfleet-agent-<version>.maps/ (kept for decoding stack
// traces, never shipped).
//
//   node scripts/build-agent-artifact.mjs [--out DIR] [--version V]
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants as zlib } from 'node:zlib';
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

// Each chunk's bundled CommonJS code may call require(); ESM has none.
const chunkBanner = `import { createRequire as __kfCreateRequire } from 'node:module';
const require = __kfCreateRequire(import.meta.url);`;

/** Where the loader finds the chunks: the last line of the artifact, a comment. */
const PAYLOAD_MARK = '/*keyfleet-agent-chunks:';

/**
 * The artifact's own code. First an older Node stops with a clear message instead of an API
 * error somewhere in the bundle; then the chunks are written out unless this build's already
 * are, and the start chunk is imported. `globalThis.__keyfleetArtifactUrl` is what the chunks'
 * `import.meta.url` means (see the define below): the artifact the agent installs, copies and
 * swaps, not the chunk's extracted copy. The version is stamped here, in plain text, rather than
 * in the compressed chunks: it belongs to the artifact, and stays readable in it.
 * @param {string} hash
 * @param {string} version
 */
const loader = (hash, version) => `#!/usr/bin/env node
{const [a, b] = process.versions.node.split('.').map(Number); if (a < 20 || (a === 20 && b < 19)) { process.stderr.write('keyfleet-agent needs Node.js >= 20.19; this is ' + process.version + '\\n'); process.exit(1); }}
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
globalThis.__keyfleetArtifactUrl = import.meta.url;
globalThis.__keyfleetAgentVersion = ${JSON.stringify(version)};
const self = fileURLToPath(import.meta.url);
const unpack = (dir) => {
  const text = readFileSync(self, 'latin1');
  const at = text.lastIndexOf(${JSON.stringify(PAYLOAD_MARK)}) + ${PAYLOAD_MARK.length};
  const files = JSON.parse(brotliDecompressSync(Buffer.from(text.slice(at, text.indexOf('*/', at)), 'base64')).toString('utf8'));
  mkdirSync(dir, { recursive: true });
  for (const [name, code] of Object.entries(files)) writeFileSync(join(dir, name), code);
};
let dir = join(dirname(self), '.keyfleet-agent-chunks', '${hash}');
if (!existsSync(join(dir, 'main.mjs'))) {
  const aside = \`\${dir}.\${process.pid}.tmp\`;
  try {
    unpack(aside);
    try {
      renameSync(aside, dir);
    } catch (err) {
      // Another process of the same build got there first: its chunks are these.
      rmSync(aside, { recursive: true, force: true });
      if (!existsSync(join(dir, 'main.mjs'))) throw err;
    }
  } catch (err) {
    if (!['EACCES', 'EPERM', 'EROFS'].includes(err.code)) throw err;
    dir = mkdtempSync(join(tmpdir(), 'keyfleet-agent-'));
    unpack(dir);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
}
await import(pathToFileURL(join(dir, 'main.mjs')).href);
`;

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
  const result = await esbuild.build({
    entryPoints: { main: entry },
    // Nothing is written there (write: false): the chunks' names are relative to it.
    outdir: join(outDir, 'chunks'),
    splitting: true,
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Whitespace and syntax only: function names in stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    sourcemap: 'external',
    sourcesContent: false,
    define: { __KEYFLEET_AGENT_VERSION__: 'globalThis.__keyfleetAgentVersion', 'import.meta.url': 'globalThis.__keyfleetArtifactUrl' },
    banner: { js: chunkBanner },
    plugins: [leaveNativeOut],
    write: false,
    logLevel: 'silent',
  });
  const warnings = result.warnings.filter((w) => !/inside a try\/catch/i.test(w.notes.map((n) => n.text).join(' ')));
  for (const w of warnings) console.warn(`build-agent-artifact: warning: ${w.text}${w.location ? ` (${w.location.file}:${w.location.line})` : ''}`);
  const chunks = result.outputFiles.filter((f) => f.path.endsWith('.mjs'));
  if (!chunks.some((f) => basename(f.path) === 'main.mjs')) throw new Error('esbuild produced no main chunk');
  const files = Object.fromEntries(chunks.map((f) => [basename(f.path), f.text]));
  // Quality 5: 0.97 MB in 0.6 s; 11 saves 0.12 MB for 40 s per build (the e2e tests build several).
  const payload = brotliCompressSync(JSON.stringify(files), { params: { [zlib.BROTLI_PARAM_QUALITY]: 5 } });
  const hash = createHash('sha256').update(payload).digest('hex').slice(0, 16);
  const js = Buffer.from(`${loader(hash, version)}${PAYLOAD_MARK}${payload.toString('base64')}*/\n`);
  const sha256 = createHash('sha256').update(js).digest('hex');
  // Written aside and renamed, so a hub serving this directory never reads half a file.
  await writeFile(`${file}.tmp`, js, { mode: 0o755 });
  await chmod(`${file}.tmp`, 0o755);
  await rename(`${file}.tmp`, file);
  const maps = `${file.replace(/\.mjs$/, '')}.maps`;
  await rm(maps, { recursive: true, force: true });
  await mkdir(maps, { recursive: true });
  await Promise.all(result.outputFiles.filter((f) => f.path.endsWith('.map')).map((f) => writeFile(join(maps, basename(f.path)), f.contents)));
  await writeFile(`${file}.sha256.tmp`, `${sha256}  ${basename(file)}\n`);
  await rename(`${file}.sha256.tmp`, `${file}.sha256`);
  return { file, version, sha256, size: js.byteLength };
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
