/**
 * Part 4 of `npm run bench:cluster`: the publish path alone, at full
 * histories. One engine in this process (no sockets, no fan-out): `--topics`
 * topics are first filled to `--limit` entries of `--bytes` each, so every
 * measured publish also trims, as on a server that has run for a while;
 * then `--measure` broadcasts are published, `--per-call` per event-loop
 * turn spread over the topics, each turn awaited before the next.
 *
 * Prints one JSON line: CPU microseconds per broadcast of this process
 * (`node`) and, with `--redis <url>`, of that Redis (`redis`, from its
 * `INFO cpu`, read only at the edges). Without `--redis` it measures the
 * memory engine.
 */
import { Redis } from 'ioredis';
import { memoryEngine } from '../../server/engine/memory/engine';
import { RedisEngine } from '../../server/engine/redis/engine';
import type { Engine, EngineContext, NewBroadcast } from '../../server/engine/engine';
import { silentLogger } from '../../server/log';

const argument = (name: string, fallback: string): string => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const url = process.argv.includes('--redis') ? argument('--redis', '') : null;
const bytes = Number(argument('--bytes', '200'));
const topicCount = Number(argument('--topics', '100'));
const perCall = Number(argument('--per-call', '300'));
const limit = Number(argument('--limit', '1000'));
const measure = Number(argument('--measure', '30000'));

const context: EngineContext = {
  node: 'bench',
  log: silentLogger,
  limits: {
    historyLimit: limit, historyMaxAgeMs: 3_600_000, historyMaxBytes: 2 ** 31, historyMaxBytesPerTopic: 2 ** 30, historyMaxBytesPerUser: 2 ** 30,
    dedupeWindowMs: 86_400_000, dedupeMaxEntries: 200_000, dedupeMaxPerUser: 10_000,
  },
};
const engine: Engine = url ? new RedisEngine({ url, prefix: `bench${process.pid}` }, context) : memoryEngine()(context);
await engine.start();
const info = url ? new Redis(url) : null;

async function redisCpuSec(): Promise<number> {
  if (!info) return 0;
  const text = await info.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

// A JSON payload of about `bytes`, as the fan-out parts send.
const payloadJson = JSON.stringify({ body: 'x'.repeat(Math.max(0, bytes - 12)) });
const topics = Array.from({ length: topicCount }, (_, i) => `room:${i}`);
const broadcast = (): NewBroadcast => ({ event: 'msg', payloadJson, payloadBytes: Buffer.from(payloadJson), exclude: null, user: '' });

async function turn(count: number, offset: number): Promise<void> {
  const positions: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) positions.push(engine.log.publish(topics[(offset + i) % topicCount]!, broadcast()));
  await Promise.all(positions);
}

for (let filled = 0; filled < topicCount * limit; filled += perCall) await turn(perCall, filled);
const window = await engine.log.window(topics[0]!);
const redis0 = await redisCpuSec();
const cpu0 = process.cpuUsage();
for (let done = 0; done < measure; done += perCall) await turn(perCall, done);
const cpu = process.cpuUsage(cpu0);
const redis1 = await redisCpuSec();
const held = await engine.log.window(topics[0]!);
process.stdout.write(`${JSON.stringify({
  engine: url ? 'redis' : 'memory',
  bytes: Buffer.byteLength(payloadJson),
  node: (cpu.user + cpu.system) / measure,
  redis: url ? ((redis1 - redis0) * 1e6) / measure : null,
  heldBefore: window.head - window.oldest + 1,
  heldAfter: held.head - held.oldest + 1,
})}\n`);
info?.disconnect();
await engine.close();
process.exit(0);
