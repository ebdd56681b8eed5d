#!/usr/bin/env node
// Bundles each app into one ESM file. Workspace packages (@keyfleet/*) are TypeScript
// sources and get bundled; for the hub and CLI every other npm package stays external because
// several carry wasm, native or optional parts that a bundler breaks. An external must therefore
// be resolvable from the app's own directory, which the build checks so a missing
// dependency fails here rather than at runtime on a server. The agent goes to hosts without
// node_modules: it is built self-contained by build-agent-artifact.mjs.
import { chmod, copyFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildAgentArtifact } from './build-agent-artifact.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const apps = [
  { dir: 'apps/hub', out: 'keyfleet-hub.mjs' },
  { dir: 'apps/cli', out: 'keyfleet.mjs' },
];

/** @param {string} appDir @returns {esbuild.Plugin} */
function externalizeNpmPackages(appDir) {
  return {
    name: 'externalize-npm-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('@keyfleet/') || isBuiltin(args.path) || args.pluginData === 'probe') return undefined;
        const probe = await build.resolve(args.path, { kind: args.kind, resolveDir: appDir, pluginData: 'probe' });
        if (probe.errors.length > 0) {
          const app = relative(root, appDir);
          return { errors: [{ text: `${packageName(args.path)} is not resolvable from ${app}: add it to ${app}/package.json dependencies` }] };
        }
        return { path: args.path, external: true };
      });
    },
  };
}

const builtins = new Set((await import('node:module')).builtinModules);
function isBuiltin(path) {
  return path.startsWith('node:') || builtins.has(path) || builtins.has(path.split('/')[0]);
}

function packageName(path) {
  const parts = path.split('/');
  return path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const banner = [
  '#!/usr/bin/env node',
  // Bundled CommonJS code may call require(); ESM has none.
  "import { createRequire as __kfCreateRequire } from 'node:module';",
  'const require = __kfCreateRequire(import.meta.url);',
].join('\n');

let failed = false;
for (const app of apps) {
  const appDir = join(root, app.dir);
  const entry = join(appDir, 'src/main.ts');
  if (!existsSync(entry)) {
    console.warn(`build: skipping ${app.dir}: ${relative(root, entry)} does not exist yet`);
    continue;
  }
  const source = await readFile(entry, 'utf8');
  const outfile = join(appDir, 'dist', app.out);
  const started = Date.now();
  try {
    await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      // Stack traces need only the mappings; with --enable-source-maps node parses the whole map
      // at load, and the embedded sources tripled it (~1.5 MB of the idle agent's RSS).
      sourcesContent: false,
      // esbuild keeps an entry's own hashbang; a second one would be a syntax error.
      banner: { js: source.startsWith('#!') ? banner.split('\n').slice(1).join('\n') : banner },
      plugins: [externalizeNpmPackages(appDir)],
      logLevel: 'warning',
    });
    await chmod(outfile, 0o755);
    console.log(`build: ${relative(root, outfile)} (${Date.now() - started} ms)`);
  } catch {
    // esbuild has already printed the errors.
    failed = true;
  }
}
try {
  const started = Date.now();
  const artifact = await buildAgentArtifact();
  // The same file under the name the package's bin, the bench and manual installs use.
  const plain = join(root, 'apps/agent/dist/keyfleet-agent.mjs');
  await copyFile(artifact.file, plain);
  await chmod(plain, 0o755);
  console.log(
    `build: ${relative(root, artifact.file)} and ${relative(root, plain)}: agent ${artifact.version}, self-contained (${(artifact.size / 1024 / 1024).toFixed(1)} MiB, ${Date.now() - started} ms)`,
  );
} catch (err) {
  console.error(`build: agent artifact: ${err.message}`);
  failed = true;
}
if (failed) process.exit(1);
