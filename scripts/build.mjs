#!/usr/bin/env node
/**
 * `npm run build` (also run by `npm pack` / `npm publish` through `prepack`):
 * the installable package in `dist/`.
 *
 * - JavaScript: esbuild bundles each entry point as ESM, sharing chunks
 *   between entries of one side (client: browsers, ES2022; server: Node 20).
 *   Dependencies stay imports (`packages: 'external'`), resolved by the
 *   consumer's npm and bundler.
 * - Types: `tsc -p tsconfig.build.json` emits `.d.ts` for `src/` and
 *   `server/` into `dist/types/`, then relative imports in them get their
 *   `.js` extensions, so consumers on `moduleResolution: node16/nodenext`
 *   resolve them as well as those on `bundler`.
 *
 * The repository's own tools never need this: tests, the demo, the e2e
 * suite and `npm run server` read the TypeScript sources (tsconfig `paths`,
 * Vite aliases, esbuild on the fly).
 */
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ROOT, run } from './lib/proc.mjs';

/**
 * Entry points: `exports` in package.json maps `plume/<name>` to `dist/<file>.js` and its types.
 * To add one (`plume/yjs` will be next): a line here, an `exports` entry, and a consumer import in
 * scripts/consumer/ to check it installs.
 */
export const ENTRIES = {
  client: { index: 'src/index.ts', durable: 'src/durable.ts', mesh: 'src/mesh/index.ts', yjs: 'src/yjs/index.ts' },
  server: { server: 'server/index.ts', cli: 'server/cli.ts' },
};

const DIST = join(ROOT, 'dist');

async function bundle(side) {
  const entryPoints = Object.fromEntries(Object.entries(ENTRIES[side]).map(([name, file]) => [name, join(ROOT, file)]));
  await build({
    entryPoints,
    outdir: DIST,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: side === 'client' ? 'browser' : 'node',
    target: side === 'client' ? 'es2022' : 'node20',
    packages: 'external',
    chunkNames: `chunks/${side}-[hash]`,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

/** `from './x'` → `from './x.js'` (or `./x/index.js`) in every emitted declaration file. */
function addExtensions(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) addExtensions(path);
    else if (name.endsWith('.d.ts')) writeFileSync(path, readFileSync(path, 'utf8').replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)(['"])/g, (all, head, spec, tail) => `${head}${resolveSpec(dirname(path), spec)}${tail}`));
  }
}

function resolveSpec(dir, spec) {
  const bare = spec.replace(/\.(ts|js)$/, '');
  if (existsSync(join(dir, `${bare}.d.ts`))) return `${bare}.js`;
  if (existsSync(join(dir, bare, 'index.d.ts'))) return `${bare}/index.js`;
  return spec;
}

async function main() {
  const started = performance.now();
  rmSync(DIST, { recursive: true, force: true });
  await bundle('client');
  await bundle('server');
  const code = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')]);
  if (code !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${code})`);
  addExtensions(join(DIST, 'types'));
  const files = readdirSync(DIST).filter((f) => f.endsWith('.js'));
  console.log(`[build] dist/: ${files.join(', ')} and types, in ${Math.round(performance.now() - started)} ms (${relative(ROOT, DIST)})`);
}

main().catch((err) => {
  console.error(`[build] ${err.message}`);
  process.exit(1);
});
