/**
 * Finds a Chromium for the end-to-end tests, in this order:
 * `CHROMIUM_PATH`, Playwright's own downloaded browser, `/usr/bin/chromium`,
 * and (only on CI, as root) `apt-get install chromium`.
 *
 * Responsible for resolving one executable path or failing with a message
 * that says how to get one. Not responsible for launching it. Only node
 * built-ins at top level; Playwright is loaded lazily and is optional.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, run } from './proc.mjs';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

const HOW_TO_GET_ONE = [
  'Get one of these:',
  '  - install Debian/Ubuntu Chromium:   sudo apt-get install -y chromium   (found at /usr/bin/chromium)',
  '  - or point at any Chrome/Chromium:  CHROMIUM_PATH=/path/to/chrome npm test',
  'On CI (CI=true, as root) it is installed automatically.',
].join('\n');

/** Thrown when no Chromium can be found or installed; `code` is stable. */
export class ChromiumNotFound extends Error {
  code = 'CHROMIUM_NOT_FOUND';
}

/**
 * Resolves a Chromium without installing anything, or returns `null`.
 * Throws when `CHROMIUM_PATH` is set but points at nothing (a typo should
 * not silently fall back to another browser).
 *
 * @example locateChromium() // => { path: '/usr/bin/chromium', source: 'system' }
 */
export function locateChromium() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new ChromiumNotFound(`CHROMIUM_PATH is set to ${fromEnv}, but no file exists there.\n${HOW_TO_GET_ONE}`);
    return { path: fromEnv, source: 'CHROMIUM_PATH' };
  }
  const playwrights = playwrightChromium();
  if (playwrights && existsSync(playwrights)) return { path: playwrights, source: 'playwright' };
  if (existsSync(SYSTEM_CHROMIUM)) return { path: SYSTEM_CHROMIUM, source: 'system' };
  return null;
}

/**
 * Resolves a Chromium executable path. With `install: true`, running as root
 * and `CI=true`, installs Debian's chromium with apt-get when none is found.
 *
 * @example
 * process.env.CHROMIUM_PATH = await findChromium({ install: true });
 */
export async function findChromium({ install = false } = {}) {
  const found = locateChromium();
  if (found) return found.path;
  const isRoot = process.getuid?.() === 0;
  const onCi = process.env.CI === 'true';
  if (install && isRoot && onCi) {
    await aptInstallChromium();
    if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
    throw new ChromiumNotFound(`apt-get install chromium succeeded but ${SYSTEM_CHROMIUM} does not exist.\n${HOW_TO_GET_ONE}`);
  }
  throw new ChromiumNotFound(`No Chromium found (looked at CHROMIUM_PATH, Playwright's browser, ${SYSTEM_CHROMIUM}).\n${HOW_TO_GET_ONE}`);
}

/** The path where Playwright keeps its own Chromium, whether or not it is downloaded. */
function playwrightChromium() {
  const require = createRequire(join(ROOT, 'package.json'));
  for (const name of ['playwright-core', '@playwright/test']) {
    try {
      return require(name).chromium.executablePath();
    } catch {
      // Not installed (or no browser registry): try the next source; nothing is lost.
    }
  }
  return null;
}

/** `apt-get install -y chromium`, refreshing the package lists only if the first try fails. */
async function aptInstallChromium() {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = ['install', '-y', 'chromium'];
  console.log('[browser] no Chromium found: running apt-get install -y chromium (CI=true, running as root)');
  if ((await run('apt-get', install, { env })) === 0) return;
  console.log('[browser] apt-get install failed: running apt-get update, then trying again');
  if ((await run('apt-get', ['update'], { env })) !== 0) throw new ChromiumNotFound(`apt-get update failed.\n${HOW_TO_GET_ONE}`);
  if ((await run('apt-get', install, { env })) !== 0) throw new ChromiumNotFound(`apt-get install -y chromium failed.\n${HOW_TO_GET_ONE}`);
}
