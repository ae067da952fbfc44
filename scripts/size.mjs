#!/usr/bin/env node
// Prints the min+gzip size of the client's core entry (src/index.ts), and of
// the official phoenix client built the same way, as the baseline.
// Usage: npm run size [-- --max-bytes N]  (exits 1 when the core exceeds N)
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function minGzip(entry, external = []) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    external,
    metafile: true,
    logLevel: 'error',
  });
  const code = result.outputFiles[0].contents;
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length, inputs: Object.keys(result.metafile.inputs) };
}

const core = await minGzip(join(root, 'src/index.ts'));
const durable = await minGzip(join(root, 'src/durable.ts'));
const meshEntry = await minGzip(join(root, 'src/mesh/index.ts'));
const phoenix = await minGzip(join(root, 'node_modules/phoenix/assets/js/phoenix/index.js'));
const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
console.log('bundle                     min        min+gzip');
console.log(`plume core (src/index.ts)  ${kb(core.min).padEnd(10)} ${kb(core.gzip)}`);
console.log(`+ plume/durable (alone)    ${kb(durable.min).padEnd(10)} ${kb(durable.gzip)}`);
console.log(`+ plume/mesh (alone)       ${kb(meshEntry.min).padEnd(10)} ${kb(meshEntry.gzip)}  (simple-peer's bundle is most of it)`);
const phoenixVersion = JSON.parse(readFileSync(join(root, 'node_modules/phoenix/package.json'), 'utf8')).version;
console.log(`phoenix ${phoenixVersion} (baseline)`.padEnd(27) + `${kb(phoenix.min).padEnd(10)} ${kb(phoenix.gzip)}`);
console.log(`ratio plume/phoenix (gzip): ${(core.gzip / phoenix.gzip).toFixed(2)}`);
const forbidden = core.inputs.filter((p) => /mesh|yjs|simple-peer|doc\.ts/.test(p));
if (forbidden.length) {
  console.error(`core entry pulls in mesh/Yjs code: ${forbidden.join(', ')}`);
  process.exit(1);
}
const maxIndex = process.argv.indexOf('--max-bytes');
if (maxIndex !== -1 && core.gzip > Number(process.argv[maxIndex + 1])) {
  console.error(`core is ${core.gzip} B gzip, over the budget of ${process.argv[maxIndex + 1]} B`);
  process.exit(1);
}
