/**
 * Makes sure `node_modules` matches `package-lock.json` before a script
 * imports anything from it, so a fresh clone needs no separate install step.
 *
 * Responsible for deciding whether to install and running npm. Not
 * responsible for adding or upgrading dependencies. Only node built-ins:
 * this runs before any dependency exists.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run } from './proc.mjs';

/** Thrown when npm fails; `code` is stable for callers. */
export class InstallFailed extends Error {
  code = 'INSTALL_FAILED';
}

/**
 * Why dependencies must be installed, or `null` when they are up to date.
 * @example whyInstall() // => 'node_modules is missing' | null
 */
export function whyInstall(root = ROOT) {
  const lock = join(root, 'package-lock.json');
  const modules = join(root, 'node_modules');
  const installed = join(modules, '.package-lock.json');
  if (!existsSync(modules)) return 'node_modules is missing';
  if (!existsSync(lock)) return null;
  // npm writes node_modules/.package-lock.json at the end of every install.
  if (!existsSync(installed)) return 'node_modules looks incomplete (no node_modules/.package-lock.json)';
  if (statSync(lock).mtimeMs > statSync(installed).mtimeMs) return 'package-lock.json changed since the last install';
  return null;
}

/**
 * Installs dependencies when `whyInstall()` says so: `npm ci` from the lock,
 * or `npm install` when there is no lock. Output streams to the terminal.
 *
 * @example
 * await ensureDeps(); // then: const { build } = await import('vite');
 */
export async function ensureDeps({ root = ROOT } = {}) {
  const reason = whyInstall(root);
  if (reason === null) return;
  const hasLock = existsSync(join(root, 'package-lock.json'));
  const verb = hasLock ? 'ci' : 'install';
  console.log(`[deps] ${reason}: running npm ${verb}`);
  const [command, prefix] = npmCommand();
  const code = await run(command, [...prefix, verb, '--no-audit', '--no-fund'], { cwd: root });
  if (code !== 0) {
    const hint = hasLock
      ? 'If it says the lock is out of sync with package.json ("Missing from lock file"), run `npm install` once and commit package-lock.json.'
      : 'Check the npm output above.';
    throw new InstallFailed(`npm ${verb} failed with exit code ${code}. ${hint}`);
  }
}

/** The npm that is running us (under `npm test`), else the one on PATH. */
function npmCommand() {
  const cli = process.env.npm_execpath;
  if (cli && /npm-cli\.js$/.test(cli) && existsSync(cli)) return [process.execPath, [cli]];
  return ['npm', []];
}
