/**
 * Long-poll delivery latency (part 6 of `npm run bench`): members of one
 * room on Plume's long-poll transport (PROTOCOL.md §1, Long-poll), fed by a
 * WebSocket publisher at a moderate fixed rate, beside the same room with
 * WebSocket members at the same rate in the same run.
 *
 * Each member is a raw HTTP client, as phoenix.js's LongPoll is: it opens a
 * session, POSTs its join, then keeps one poll outstanding. Requests go
 * through a keep-alive agent, one TCP connection per member at most.
 *
 * Not responsible for starting servers or reporting.
 */
import { Agent, request } from 'node:http';
import { CONTENDERS } from './contenders.mjs';
import { connectPublisher, dataJson, destroyAll, latency, sleep, until } from './load.mjs';

const T = /"t":([\d.]+)/;
const N = /"n":(\d+)/;

/** One HTTP request; resolves with the parsed JSON answer. */
function call(agent, port, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = request({ agent, port, host: '127.0.0.1', method, path, headers: body === undefined ? {} : { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A long-poll member of `room`: resolves once joined; then hands each
 * delivery's text to `onDelivery`, and counts answered polls with `onPoll`, until `stop()`.
 */
async function member(agent, port, room, onDelivery, onPoll) {
  const base = '/socket/longpoll?vsn=2.0.0&plume=1&name=bench';
  const opened = await call(agent, port, 'GET', base);
  if (opened.status !== 410 || !opened.token) throw new Error(`long-poll session refused: ${JSON.stringify(opened)}`);
  const path = `${base}&token=${opened.token}`;
  const posted = await call(agent, port, 'POST', path, `["1","1","${room}","phx_join",{}]`);
  if (posted.status !== 200) throw new Error(`long-poll join not taken: ${JSON.stringify(posted)}`);
  let running = true;
  let joined = false;
  let failure = null;
  const loop = (async () => {
    while (running) {
      const answer = await call(agent, port, 'GET', path);
      if (answer.status === 204) continue;
      if (answer.status !== 200) throw new Error(`long-poll session ended: ${JSON.stringify(answer)}`);
      onPoll();
      for (const text of answer.messages) {
        if (text.includes('"phx_reply"')) joined = true;
        else if (text.includes('"msg",{')) onDelivery(text);
      }
    }
  })().catch((err) => {
    if (running) failure = err;
  });
  await until(() => joined || failure !== null, 10_000, 'a long-poll join reply');
  if (failure) throw failure;
  return {
    get failure() {
      return failure;
    },
    stop: async () => {
      running = false;
      // Ends the session at once (the server answers the outstanding poll), as the Plume client does on close.
      await call(agent, port, 'DELETE', path).catch(() => {});
      await loop;
    },
  };
}

/**
 * Delivery latency to `perRoom` long-poll members of one room at
 * `ratePerSec` broadcasts/s, and the same with WebSocket members.
 */
export async function longPollPart(withServer, { perRoom, payloadBytes, ratePerSec, warmupMs, measureMs }) {
  const websocket = await withServer('plume', (server) => latency(CONTENDERS.plume, server, { rooms: 1, perRoom, payloadBytes, ratePerSec, warmupMs, measureMs }));
  console.log(`[bench] long-poll part: WebSocket members p50 ${websocket.p50.toFixed(2)} ms, p99 ${websocket.p99.toFixed(2)} ms`);
  const longpoll = await withServer('plume', (server) => longPollLatency(server, { perRoom, payloadBytes, ratePerSec, warmupMs, measureMs }));
  console.log(`[bench] long-poll part: long-poll members p50 ${longpoll.p50.toFixed(2)} ms, p99 ${longpoll.p99.toFixed(2)} ms, ${longpoll.requestsPerDelivery.toFixed(2)} polls per delivery`);
  return { perRoom, payloadBytes, ratePerSec, offeredPerSec: perRoom * ratePerSec, websocket, longpoll };
}

async function longPollLatency(server, { perRoom, payloadBytes, ratePerSec, warmupMs, measureMs }) {
  const samples = [];
  let delivered = 0;
  let outOfOrder = 0;
  let polls = 0;
  let measuring = false;
  const members = [];
  for (let i = 0; i < perRoom; i++) {
    // An agent per member: one connection for its poll and one for its POSTs, as a browser tab has.
    const own = new Agent({ keepAlive: true, maxSockets: 2 });
    const state = { lastN: -1 };
    members.push({
      agent: own,
      member: await member(own, server.port, 'room:0', (text) => {
        const now = performance.now();
        delivered++;
        const n = Number(N.exec(text)?.[1]);
        if (!(n > state.lastN)) outOfOrder++;
        state.lastN = n;
        if (measuring) samples.push(now - Number(T.exec(text)?.[1]));
      }, () => {
        if (measuring) polls++;
      }),
    });
  }
  const publisher = await connectPublisher(CONTENDERS.plume, server.port);
  let sent = 0;
  const begin = performance.now();
  const tick = () => {
    const due = Math.floor(((performance.now() - begin) / 1000) * ratePerSec);
    while (sent < due) {
      publisher.send(CONTENDERS.plume.publish('room:0', dataJson(payloadBytes, performance.now(), sent)));
      sent++;
    }
  };
  const timer = setInterval(tick, 1);
  await sleep(warmupMs);
  const cpu0 = await server.cpu();
  measuring = true;
  const t0 = performance.now();
  await sleep(measureMs);
  clearInterval(timer);
  const cpu1 = await server.cpu();
  const seconds = (performance.now() - t0) / 1000;
  let complete = true;
  try {
    await until(() => delivered >= sent * perRoom, 10_000, 'the last long-poll deliveries');
  } catch {
    // Reported, not thrown: lost messages show in the table.
    complete = false;
  }
  measuring = false;
  const failed = members.find(({ member: m }) => m.failure);
  destroyAll([publisher]);
  await Promise.all(members.map(async ({ agent: own, member: m }) => {
    await m.stop();
    own.destroy();
  }));
  if (failed) throw failed.member.failure;
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    offeredPerSec: ratePerSec * perRoom,
    samples: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted[sorted.length - 1],
    serverCpuShare: (cpu1 - cpu0) / seconds,
    // Answered polls per delivery: below 1 when one poll carries several broadcasts.
    requestsPerDelivery: samples.length > 0 ? polls / samples.length : 0,
    outOfOrder,
    complete,
  };
}
