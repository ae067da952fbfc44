#!/usr/bin/env node
// Runs the Plume server CLI straight from TypeScript: esbuild bundles
// server/cli.ts (dependencies stay external) in a few tens of milliseconds,
// then the bundle is imported. No separate build step.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.setSourceMapsEnabled(true);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'node_modules', '.cache', 'plume');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, `server-${process.pid}.mjs`);
await build({
  entryPoints: [join(root, 'server', 'cli.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'error',
});
const { rmSync } = await import('node:fs');
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true });
}
