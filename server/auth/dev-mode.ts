/**
 * Dev mode's safety rule (PROTOCOL.md §8, dev mode): a server with nothing
 * to verify tokens with lets anyone connect as any name, so it serves only
 * on a loopback address unless told otherwise with `dev: true`.
 *
 * Responsible for deciding whether an address is loopback and for the
 * refusal that says how to fix it. Not responsible for dev mode's identity
 * rule (`connect.ts`) or its origins (`origin.ts`).
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * True for 127.0.0.0/8, ::1 (with or without brackets, or IPv4-mapped) and `localhost`.
 * @example isLoopbackHost('127.0.0.1') // true; isLoopbackHost('0.0.0.0') // false
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (name === 'localhost') return true;
  if (isIPv4(name)) return name.startsWith('127.');
  if (!isIPv6(name)) return false;
  if (name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(name);
  return mapped?.[1]?.startsWith('127.') === true;
}

/** A server in dev mode was asked to serve on an address other hosts can reach. */
export class DevModeError extends Error {
  readonly code = 'dev_mode_not_loopback';
  constructor(where: string) {
    super(
      `refusing to serve in dev mode on ${where}: with no secret, publicKey or jwksUrl anyone may connect under any name. ` +
        'Configure authentication (secret / --secret / PLUME_SECRET, publicKey / --public-key, or jwksUrl / --jwks-url), ' +
        'or listen on a loopback address (127.0.0.1), or accept the risk with dev: true (--dev, PLUME_DEV=1)',
    );
    this.name = 'DevModeError';
  }
}

/** Throws {@link DevModeError} unless dev mode may serve on `host` (an address, or undefined when unknown). */
export function checkDevMode(host: string | undefined, explicit: boolean): void {
  if (explicit) return;
  if (host === undefined) throw new DevModeError('an HTTP server that is not listening on a loopback address yet');
  if (!isLoopbackHost(host)) throw new DevModeError(host === '' ? 'every address' : host);
}
