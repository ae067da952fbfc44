/**
 * The load generator: many member sockets and one publisher, driven through
 * a contender's wire protocol (`contenders.mjs`) by the raw client
 * (`wsclient.mjs`). Each scenario measures one thing and ends on its own:
 * every wait has a deadline.
 *
 * Not responsible for starting servers (`servers.mjs`) or reporting.
 */
import { RawSocket, clientFrame } from './wsclient.mjs';

const T_NEEDLE = Buffer.from('"t":');
const N_NEEDLE = Buffer.from('"n":');
const CONNECT_CONCURRENCY = 200;

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `predicate()` holds (checked every 5 ms), rejects after `ms`. */
export async function until(predicate, ms, what) {
  const end = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * The data object a publisher sends, as JSON of exactly `bytes` bytes when
 * `bytes` allows: `{"t":<ms>,"n":<count>,"p":"xxx…"}`. `t` is first so the
 * receiver finds it a few bytes into every contender's frame. Written as
 * `JSON.stringify` writes it (`0`, not `0.000`), as a JavaScript client
 * sends it.
 */
export function dataJson(bytes, t, n) {
  const head = `{"t":${Number(t.toFixed(3))},"n":${n},"p":"`;
  return `${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}"}`;
}

/** Reads the number after `needle` inside `buf[start, end)`, or NaN. */
function numberAfter(buf, needle, start, end) {
  const at = buf.indexOf(needle, start);
  if (at === -1 || at >= end) return NaN;
  let i = at + needle.length;
  let stop = i;
  while (stop < end && buf[stop] !== 0x2c && buf[stop] !== 0x7d) stop++;
  return Number(buf.toString('latin1', i, stop));
}

/**
 * One socket that runs `steps` (send, wait for the answer) and then hands
 * every further text frame to `onDelivery(buf, start, end)`, answering the
 * contender's pings on the way.
 */
async function socketThrough(contender, port, steps, onDelivery, onClose) {
  const marker = Buffer.from(contender.marker);
  let waiting = null;
  let ready = false;
  let socket;
  const onText = (buf, start, end) => {
    if (ready) {
      if (end - start <= 2) {
        const answer = contender.answer(buf.toString('latin1', start, end));
        if (answer !== null) return socket.send(answer);
      }
      // Other frames (presence, acks) are not deliveries.
      const at = buf.indexOf(marker, start);
      if (at !== -1 && at < start + 64 && at < end) onDelivery(buf, start, end);
      return;
    }
    const text = buf.toString('utf8', start, end);
    const answer = contender.answer(text);
    if (answer !== null) return socket.send(answer);
    if (waiting?.until(text)) waiting.resolve();
  };
  socket = await RawSocket.connect({ port, path: contender.path, onText, onClose });
  for (const [send, untilFrame] of steps) {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${send} within 10 s`)), 10_000);
      waiting = { until: untilFrame, resolve: () => (clearTimeout(timer), resolve()) };
      socket.send(send);
    });
  }
  waiting = null;
  ready = true;
  return socket;
}

/**
 * Connects `rooms × perRoom` members, each joined to its room (`room:<i>`),
 * at most {@link CONNECT_CONCURRENCY} handshakes at a time.
 */
export async function connectMembers(contender, port, { rooms, perRoom, onDelivery, onClose = () => {} }) {
  const sockets = [];
  const jobs = [];
  for (let r = 0; r < rooms; r++) for (let m = 0; m < perRoom; m++) jobs.push(r);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      const room = jobs[index];
      const state = { room, lastN: -1 };
      sockets.push(await socketThrough(contender, port, contender.join(`room:${room}`), (buf, start, end) => onDelivery(buf, start, end, state), onClose));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, jobs.length) }, worker));
  return sockets;
}

/** Connects the publisher socket. */
export function connectPublisher(contender, port) {
  return socketThrough(contender, port, contender.publisher, () => {}, () => {});
}

/** Closes sockets without a handshake (the server sees them go). */
export function destroyAll(sockets) {
  for (const socket of sockets) socket.destroy();
}

/**
 * Fan-out throughput: one publisher socket per room (each room has its own
 * talker, as in a real deployment; one socket for all would make its TCP
 * window, not the server, the limit), together keeping `window` deliveries
 * in flight (closed loop, so no server queues without bound), rooms in
 * turn. Counts
 * deliveries and server CPU over `measureMs` after `warmupMs`, then checks
 * that every message reached every member of its room.
 *
 * `members(port, onDelivery)`, if given, connects the members instead of
 * `perRoom` plain ones per room, and says how many deliveries each room's
 * broadcasts make (`{ sockets, deliveries: number[] }`): the signing part
 * of `npm run bench:mesh` uses it for rooms whose members get most
 * broadcasts from peers.
 */
export async function fanout(contender, server, { rooms, perRoom, payloadBytes, warmupMs, measureMs, window, members: connect }) {
  let delivered = 0;
  let sent = 0;
  /** Deliveries the messages sent so far make when all have arrived. */
  let expected = 0;
  let running = true;
  let scheduled = false;
  const onDelivery = () => {
    delivered++;
    schedulePump();
  };
  const { sockets: members, deliveries } = connect
    ? await connect(server.port, onDelivery)
    : { sockets: await connectMembers(contender, server.port, { rooms, perRoom, onDelivery }), deliveries: Array.from({ length: rooms }, () => perRoom) };
  const perBroadcast = deliveries.reduce((a, b) => a + b, 0) / rooms;
  const publishers = await Promise.all(Array.from({ length: rooms }, () => connectPublisher(contender, server.port)));
  // Throughput messages are prebuilt (t = 0): building them must not take the load core's time.
  const frames = Array.from({ length: rooms }, (_, r) => clientFrame(contender.publish(`room:${r}`, dataJson(payloadBytes, 0, 0))));
  const batches = Array.from({ length: rooms }, () => []);
  const pump = () => {
    scheduled = false;
    if (!running) return;
    while (expected + perBroadcast - delivered <= window) {
      const room = sent++ % rooms;
      expected += deliveries[room];
      batches[room].push(frames[room]);
    }
    for (let room = 0; room < rooms; room++) {
      if (batches[room].length === 0) continue;
      publishers[room].sendFrames(batches[room]);
      batches[room].length = 0;
    }
  };
  function schedulePump() {
    if (scheduled) return;
    scheduled = true;
    setImmediate(pump);
  }
  pump();
  await sleep(warmupMs);
  const cpu0 = await server.cpuSplit();
  const load0 = process.cpuUsage();
  const t0 = performance.now();
  const d0 = delivered;
  await sleep(measureMs);
  const cpu1 = await server.cpuSplit();
  const load1 = process.cpuUsage(load0);
  const t1 = performance.now();
  const d1 = delivered;
  running = false;
  let complete = true;
  try {
    await until(() => delivered >= expected, 20_000, 'the last messages to arrive');
  } catch {
    // Reported as incomplete rather than thrown: the table says which contender lost messages.
    complete = false;
  }
  destroyAll([...members, ...publishers]);
  const seconds = (t1 - t0) / 1000;
  const systemSeconds = cpu1.system - cpu0.system;
  const cpuSeconds = cpu1.user - cpu0.user + systemSeconds;
  return {
    deliveriesPerSec: (d1 - d0) / seconds,
    deliveriesPerCpuSec: (d1 - d0) / cpuSeconds,
    // Rooms are published to in turn, so broadcasts = deliveries ÷ the rooms' mean deliveries per broadcast.
    broadcastsPerSec: (d1 - d0) / perBroadcast / seconds,
    broadcastsPerCpuSec: (d1 - d0) / perBroadcast / cpuSeconds,
    serverCpuShare: cpuSeconds / seconds,
    // The kernel's share of the server's CPU time: writes and loopback TCP.
    serverSystemShare: systemSeconds / cpuSeconds,
    // Above ~0.9 the load generator, not the server, may be what limits the figure.
    loadCpuShare: (load1.user + load1.system) / 1e6 / seconds,
    // First touches of fresh memory per broadcast: a server whose memory is still growing (Plume filling its history) pays for each.
    faultsPerBroadcast: (cpu1.faults - cpu0.faults) / ((d1 - d0) / perBroadcast),
    /** The server's readings at the window's edges, as `cpuSplit()` gave them (`npm run bench:cluster` splits them by process). */
    cpuWindow: { seconds, from: cpu0, to: cpu1, deliveries: d1 - d0 },
    messages: sent,
    /** Deliveries per broadcast, the mean over rooms. */
    perBroadcast,
    complete,
  };
}

/**
 * Broadcast latency at a fixed offered rate (open loop): the publisher
 * stamps each message with the load generator's clock and members compute
 * receive time minus that stamp. Also checks per-member order (`n` only
 * grows). Members connect to `memberPort` (default: the server's), so the
 * publisher and the members may be on different nodes of a cluster.
 */
export async function latency(contender, server, { rooms, perRoom, payloadBytes, ratePerSec, warmupMs, measureMs, memberPort = server.port }) {
  let samples = new Float64Array(1 << 16);
  let count = 0;
  let outOfOrder = 0;
  let measuring = false;
  let delivered = 0;
  const members = await connectMembers(contender, memberPort, {
    rooms,
    perRoom,
    onDelivery: (buf, start, end, state) => {
      const now = performance.now();
      delivered++;
      const n = numberAfter(buf, N_NEEDLE, start, end);
      if (!(n > state.lastN)) outOfOrder++;
      state.lastN = n;
      if (!measuring) return;
      const t = numberAfter(buf, T_NEEDLE, start, end);
      if (count === samples.length) {
        const bigger = new Float64Array(samples.length * 2);
        bigger.set(samples);
        samples = bigger;
      }
      samples[count++] = now - t;
    },
  });
  const publisher = await connectPublisher(contender, server.port);
  let sent = 0;
  const begin = performance.now();
  const tick = () => {
    const due = Math.floor(((performance.now() - begin) / 1000) * ratePerSec);
    while (sent < due) {
      publisher.send(contender.publish(`room:${sent % rooms}`, dataJson(payloadBytes, performance.now(), sent)));
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
    await until(() => delivered >= sent * perRoom, 10_000, 'the last messages to arrive');
  } catch {
    // Reported, not thrown: a contender that loses messages is shown as such.
    complete = false;
  }
  measuring = false;
  destroyAll([...members, publisher]);
  const sorted = samples.subarray(0, count).sort();
  const at = (q) => sorted[Math.min(count - 1, Math.floor(q * count))];
  return {
    offeredPerSec: ratePerSec * perRoom,
    samples: count,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted[count - 1],
    serverCpuShare: (cpu1 - cpu0) / seconds,
    outOfOrder,
    complete,
  };
}

/**
 * Idle memory per connection: server RSS and heap (after full GCs) before
 * and after `rooms × perRoom` members joined, divided by their number.
 */
export async function memory(contender, server, { rooms, perRoom, settleMs }) {
  const before = await server.memory();
  const early = Math.max(1, Math.round(perRoom / 5));
  const first = await connectMembers(contender, server.port, { rooms, perRoom: early, onDelivery: () => {} });
  await sleep(settleMs);
  const mid = await server.memory();
  const rest = await connectMembers(contender, server.port, { rooms, perRoom: perRoom - early, onDelivery: () => {} });
  await sleep(settleMs);
  const after = await server.memory();
  const members = [...first, ...rest];
  const n = members.length;
  destroyAll(members);
  return {
    connections: n,
    marginalRssPerConnKB: (after.rss - mid.rss) / rest.length / 1024,
    marginalHeapPerConnKB: (after.heapUsed - mid.heapUsed) / rest.length / 1024,
    rssPerConnKB: (after.rss - before.rss) / n / 1024,
    heapPerConnKB: (after.heapUsed - before.heapUsed) / n / 1024,
    rssMB: after.rss / 2 ** 20,
    heapMB: after.heapUsed / 2 ** 20,
  };
}

/** Time from spawning the server to the first accepted join, in ms. `launch` spawns and resolves with the server. */
export async function coldStart(contender, launch) {
  const t0 = performance.now();
  const server = await launch();
  const [member] = await connectMembers(contender, server.port, { rooms: 1, perRoom: 1, onDelivery: () => {} });
  const ms = performance.now() - t0;
  member.destroy();
  await server.stop();
  return ms;
}
