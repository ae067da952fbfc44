/**
 * Times an engine's broadcast log for `/metrics`: how long `publish` and
 * `read` take, and how often they fail (`plume_engine_latency_seconds`,
 * `plume_engine_errors_total`).
 *
 * Responsible for measuring without changing what callers see: the same
 * results, the same rejections. Applied only to engines outside this
 * process (Redis): the memory engine answers in microseconds and cannot
 * be unreachable, and its publish path is the fan-out benchmark's.
 */
import type { BroadcastLog, HistoryRead, NewBroadcast, Position } from '../engine/engine';
import { LatencyHistogram, type ServerCounters } from './counters';

/** Latency of the timed operations. */
export interface EngineTimings {
  publish: LatencyHistogram;
  read: LatencyHistogram;
}

/** Fresh, empty timings. */
export function newEngineTimings(): EngineTimings {
  return { publish: new LatencyHistogram(), read: new LatencyHistogram() };
}

/**
 * A log that behaves as `log` and records each publish's and read's latency in `timings`
 * and each failure in `counters.engineErrors`.
 *
 * @example
 * const history = timedLog(new CoalescedLog(engine.log), newEngineTimings(), server.counters);
 */
export function timedLog(log: BroadcastLog, timings: EngineTimings, counters: ServerCounters): BroadcastLog {
  const timed = <T>(histogram: LatencyHistogram, call: Promise<T>, started: number): Promise<T> =>
    call.then(
      (value) => {
        histogram.observe((performance.now() - started) / 1000);
        return value;
      },
      (error: unknown) => {
        counters.engineErrors++;
        throw error;
      },
    );
  const wrapped: BroadcastLog = {
    publish: (topic: string, broadcast: NewBroadcast): Promise<Position> => timed(timings.publish, log.publish(topic, broadcast), performance.now()),
    read: (topic: string, from: number, to: number, limit: number): Promise<HistoryRead> => timed(timings.read, log.read(topic, from, to, limit), performance.now()),
    subscribe: (topic, handler) => log.subscribe(topic, handler),
    unsubscribe: (subscription) => log.unsubscribe(subscription),
    window: (topic) => log.window(topic),
  };
  if (log.sweep) wrapped.sweep = () => log.sweep!();
  return wrapped;
}
