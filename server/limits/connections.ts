/**
 * Connection limits, checked before a WebSocket upgrade or a new long-poll
 * session (PROTOCOL.md §1):
 * at most `maxConnections` sockets in all, and at most
 * `maxConnectionsPerIp` from one address when set.
 *
 * Responsible for the decision and the HTTP refusal, and for counting
 * sockets per address (from the check until their TCP connection closes)
 * when that limit is on. Not responsible for counting sockets in all (the
 * server holds them: it is asked, so a socket costs nothing here while the
 * per-address limit is off), for writing the refusal (`transport/http.ts`),
 * nor for knowing a client behind a proxy: the address is the TCP peer's,
 * and no forwarding header is trusted.
 */
import type { Duplex } from 'node:stream';

/** An upgrade refused before a socket exists: the HTTP status, its text and a body that says why. */
export interface UpgradeRefusal {
  status: 503 | 429;
  statusText: string;
  body: string;
}

/** What the gate admits: `maxPerIp` 0 counts no address. */
export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
}

const AT_CAPACITY: UpgradeRefusal = {
  status: 503,
  statusText: 'Service Unavailable',
  body: 'Service Unavailable: this server is at its connection limit (maxConnections); try again later',
};

const TOO_MANY_FROM_ADDRESS: UpgradeRefusal = {
  status: 429,
  statusText: 'Too Many Requests',
  body: 'Too Many Requests: too many connections from this address (maxConnectionsPerIp); try again later',
};

/** `::ffff:10.0.0.1` and `10.0.0.1` are one client. */
function addressKey(address: string | undefined): string {
  const value = address ?? '';
  return value.startsWith('::ffff:') && value.includes('.') ? value.slice(7) : value;
}

/**
 * @example
 * const gate = new ConnectionGate({ maxConnections: 100_000, maxConnectionsPerIp: 0 }, () => server.socketCount);
 * const refusal = gate.admit(socket, socket.remoteAddress); // counted per address until `socket` closes
 * if (refusal) return refuse(socket, refusal);
 */
export class ConnectionGate {
  private readonly perAddress = new Map<string, number>();

  /** `sockets` tells how many sockets the server holds now. */
  constructor(private readonly limits: ConnectionLimits, private readonly sockets: () => number) {}

  /** Admits `socket` (counting it against its address until it closes, when that limit is on) and returns null, or returns why it is refused. */
  admit(socket: Duplex, address: string | undefined): UpgradeRefusal | null {
    if (this.sockets() >= this.limits.maxConnections) return AT_CAPACITY;
    const perIp = this.limits.maxConnectionsPerIp;
    // Gone before its upgrade was handled: its 'close' has passed, and nothing will be served on it.
    if (perIp === 0 || socket.destroyed) return null;
    const key = addressKey(address);
    const held = this.perAddress.get(key) ?? 0;
    if (held >= perIp) return TOO_MANY_FROM_ADDRESS;
    this.perAddress.set(key, held + 1);
    // A TCP socket emits 'close' once, whether the handshake failed or the WebSocket ended later.
    socket.once('close', () => this.release(key));
    return null;
  }

  /**
   * Admits a long-poll session from `address`: returns the function that
   * releases its count when the session ends, or why it is refused. A
   * session spans many TCP connections, so it is counted until it ends
   * rather than until one closes.
   */
  admitSession(address: string | undefined): { release: () => void } | { refusal: UpgradeRefusal } {
    if (this.sockets() >= this.limits.maxConnections) return { refusal: AT_CAPACITY };
    if (this.limits.maxConnectionsPerIp === 0) return { release: () => {} };
    const key = addressKey(address);
    const held = this.perAddress.get(key) ?? 0;
    if (held >= this.limits.maxConnectionsPerIp) return { refusal: TOO_MANY_FROM_ADDRESS };
    this.perAddress.set(key, held + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.release(key);
      },
    };
  }

  /** Sockets counted for `address` now (0 while the per-address limit is off). */
  heldBy(address: string): number {
    return this.perAddress.get(addressKey(address)) ?? 0;
  }

  private release(key: string): void {
    const held = (this.perAddress.get(key) ?? 1) - 1;
    if (held > 0) this.perAddress.set(key, held);
    else this.perAddress.delete(key);
  }
}
