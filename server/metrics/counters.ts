/**
 * The plain integers a server counts as it works, read by `/metrics`
 * (`registry.ts`) and `/health` when asked.
 *
 * Responsible for being cheap: the hot paths (a frame in, a frame out, a
 * broadcast) add one to a field and nothing else; prom-client is loaded
 * only when something scrapes. Not responsible for exporting them.
 */

/** What a server has counted since it started. Every field only grows. */
export interface ServerCounters {
  /** Frames and bytes sent to sockets. */
  frames: number;
  bytes: number;
  /** Frames and bytes received from sockets. */
  framesIn: number;
  bytesIn: number;
  /** Sockets accepted (upgraded) since start. */
  connections: number;
  /** Of them, y-websocket clients (`/yjs/<room>`, PROTOCOL.md §11). */
  yWebsocketConnections: number;
  /** Joins answered `ok`, and joins refused (by a handler, a limit, an unmatched topic, the engine). */
  joins: number;
  joinRefusals: number;
  /** Broadcasts published on this node: by sockets, server code and the HTTP API. */
  broadcasts: number;
  /** Sockets closed with 4429 because they stopped reading (slow consumers). */
  slowConsumerCuts: number;
  /** Frames or requests refused by a socket rate limit. A hook: the socket limiter adds to it. */
  rateLimited: number;
  /** Pushes whose message id was already applied, answered with the original reply. */
  dedupeHits: number;
  /** Joins that asked to recover from a position, and got everything since (`recovered: true`) or not. */
  recovered: number;
  notRecovered: number;
  /** Engine calls (publish, history read) that failed. */
  engineErrors: number;
}

/** Zeroed counters. */
export function newCounters(): ServerCounters {
  return {
    frames: 0, bytes: 0, framesIn: 0, bytesIn: 0, connections: 0, yWebsocketConnections: 0, joins: 0, joinRefusals: 0, broadcasts: 0,
    slowConsumerCuts: 0, rateLimited: 0, dedupeHits: 0, recovered: 0, notRecovered: 0, engineErrors: 0,
  };
}

/** Upper bounds (seconds) of the engine latency histogram's buckets: 0.25 ms to 1 s. */
export const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;

/**
 * A latency histogram in plain arrays: `observe` is a loop over a dozen
 * bounds, with no allocation, so it can sit on a per-broadcast path.
 *
 * @example
 * const h = new LatencyHistogram();
 * h.observe(0.0012);
 * h.counts; // [0, 0, 0, 1, 1, ...] (cumulative per bound, as Prometheus wants them)
 */
export class LatencyHistogram {
  /** Observations at or under each bound of `LATENCY_BUCKETS` (not cumulative). */
  private readonly buckets = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  count = 0;
  /** Sum of observations, in seconds. */
  sum = 0;

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }

  /** Cumulative counts per bound (`le`), the last bound included; `+Inf` is `count`. */
  get counts(): number[] {
    let total = 0;
    return this.buckets.map((n) => (total += n));
  }
}
