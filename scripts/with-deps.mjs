#!/usr/bin/env node
/**
 * Runs a script after making sure dependencies are installed, so that
 * `npm run bench` (and the other bench entries) work on a fresh clone:
 * `node scripts/with-deps.mjs bench/run.mjs --quick` installs what is
 * missing, then runs `bench/run.mjs --quick` in this process.
 *
 * Only node built-ins are imported statically: nothing else exists yet.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDeps } from './lib/deps.mjs';

const target = process.argv[2];
if (!target) {
  console.error('usage: node scripts/with-deps.mjs <script> [args...]');
  process.exit(2);
}
await ensureDeps();
// The script sees itself as the entry point: process.argv = [node, script, ...args].
process.argv.splice(1, 2, resolve(target));
await import(pathToFileURL(resolve(target)).href);
