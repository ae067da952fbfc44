/**
 * Part 5 of `npm run bench:cluster`: one client's pushes on one channel.
 * A Plume server in this process (memory engine, or `--redis <url>`) with
 * its default relay on `room:*`, and one raw WebSocket client (Plume
 * protocol) joined to one room, which sends `--count` pushes:
 *
 * - `plain`: every push at once, without message ids (as phoenix.js or
 *   `channel.push` do);
 * - `durable`: with message ids (as the durable outbox's `send` does), at
 *   most `--window` unanswered at a time (the outbox's window is 64).
 *
 * Each mode is timed from the first push sent to the last reply and the last
 * broadcast back (the relay sends every push to every member, the sender
 * included). Prints one JSON line with the milliseconds of each mode.
 */
import { WebSocket } from 'ws';
import { PlumeServer } from '../../server/index';
import { redisEngine } from '../../server/engine/redis/engine';

const argument = (name: string, fallback: string): string => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const url = process.argv.includes('--redis') ? argument('--redis', '') : null;
const count = Number(argument('--count', '5000'));
const window = Number(argument('--window', '64'));

const server = new PlumeServer({ logger: false, engine: url ? redisEngine({ url, prefix: `one${process.pid}` }) : undefined });
const { socketUrl } = await server.listen(0, '127.0.0.1');
const ws = new WebSocket(`${socketUrl}?vsn=2.0.0&plume=1&name=bench`);
await new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});

/** Joins `room`, sends `count` pushes (`frame(i)` makes the i-th), at most `inFlight` unanswered, and resolves with the time until every reply and broadcast came back. */
async function timed(room: string, frame: (i: number) => string, inFlight: number): Promise<number> {
  ws.send(`["${room}","${room}","${room}","phx_join",{}]`);
  await new Promise<void>((resolve) => {
    const joined = (data: Buffer) => {
      if (!data.toString().startsWith(`["${room}","${room}"`)) return;
      ws.off('message', joined);
      resolve();
    };
    ws.on('message', joined);
  });
  let sent = 0;
  let replies = 0;
  let broadcasts = 0;
  const started = performance.now();
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const text = data.toString();
      if (text.includes('"phx_reply"')) {
        replies++;
        if (sent < count) ws.send(frame(sent++));
      } else if (text.includes('"msg"')) broadcasts++;
      if (replies === count && broadcasts === count) {
        ws.off('message', onMessage);
        resolve(performance.now() - started);
      }
    };
    ws.on('message', onMessage);
    while (sent < Math.min(count, inFlight)) ws.send(frame(sent++));
  });
}

const plainMs = await timed('room:plain', (i) => `["room:plain","${i}","room:plain","msg",{"n":${i}}]`, count);
const durableMs = await timed('room:durable', (i) => `["room:durable","${i}","room:durable","msg",{"n":${i}},{"id":"m${i}"}]`, window);
process.stdout.write(`${JSON.stringify({ engine: url ? 'redis' : 'memory', count, window, plainMs, durableMs })}\n`);
ws.close();
await server.close();
process.exit(0);
