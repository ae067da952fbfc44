/**
 * The recovery storm: many Plume clients reconnect at once to a node that
 * was killed and started again, each resuming from the last position it
 * delivered (`since` in its join's meta, PROTOCOL.md §7 "Joining with
 * recovery") after missing broadcasts that another node made meanwhile.
 *
 *   1. Nodes A and B on one Redis. A watcher per room on A counts what A
 *      delivers, so the harness knows when broadcasts were applied.
 *   2. `before` broadcasts per room (published on A), then the clients join
 *      their rooms on B and keep the position of their join reply.
 *   3. B is killed (SIGKILL); `missed` broadcasts per room are published on A.
 *   4. B starts again; Redis's command counts and CPU time, and B's, are read.
 *   5. Every client opens its socket at once and joins with `since`; each is
 *      done when its join reply says `recovered: true` and it has received
 *      every missed broadcast, in order, once.
 *   6. The counts are read again when the last client is done.
 *
 * The clients are raw sockets speaking the protocol (`bench/lib/wsclient.mjs`),
 * so the load generator costs little; they parse their frames as JSON.
 */
import { CONTENDERS } from '../lib/contenders.mjs';
import { connectMembers, connectPublisher, dataJson, destroyAll, sleep, until } from '../lib/load.mjs';
import { commandDelta } from '../lib/redis.mjs';
import { RawSocket } from '../lib/wsclient.mjs';
import { startCluster } from './cluster.mjs';

const PLUME = CONTENDERS.plume;
const JOIN_REF = '1';

/** A client's join frame, with `since` in its meta when given. */
const joinFrame = (room, since) => JSON.stringify(since ? [JOIN_REF, JOIN_REF, room, 'phx_join', {}, { since }] : [JOIN_REF, JOIN_REF, room, 'phx_join', {}]);

/**
 * One Plume client in a room: joins (with `since` when given) and checks what follows. `done`
 * resolves once the join was answered and every broadcast up to the reply's head arrived, each
 * once and in order; it rejects on an error reply or a gap.
 */
async function client(port, room, since, timeoutMs) {
  const state = { reply: null, last: since?.seq ?? 0, replayed: 0, repliedAt: 0, doneAt: 0, problem: null };
  let finish;
  let fail;
  const done = new Promise((resolve, reject) => ((finish = resolve), (fail = reject)));
  // Callers await it; one that gave up (a deadline) or a socket closed after it finished is not news.
  done.catch(() => {});
  const check = () => {
    if (state.reply && state.last >= state.reply.seq) {
      state.doneAt = performance.now();
      finish(state);
    }
  };
  const onText = (buf, start, end) => {
    const [joinRef, ref, , event, payload, meta] = JSON.parse(buf.toString('utf8', start, end));
    if (event === 'phx_reply' && joinRef === JOIN_REF && ref === JOIN_REF) {
      if (payload.status !== 'ok') return fail(new Error(`join refused: ${JSON.stringify(payload)}`));
      state.reply = meta;
      state.repliedAt = performance.now();
      // The replay starts at `from`; this client's position becomes from - 1.
      if (since && meta.recovered && meta.from !== since.seq + 1) return fail(new Error(`recovered, but the replay starts at ${meta.from}, not ${since.seq + 1}`));
      state.last = meta.from - 1;
      return check();
    }
    if (event !== 'msg' || !state.reply) return;
    if (meta.epoch !== state.reply.epoch || meta.seq !== state.last + 1) return fail(new Error(`expected seq ${state.last + 1} of ${state.reply.epoch}, got ${meta.seq} of ${meta.epoch}`));
    state.last = meta.seq;
    state.replayed++;
    check();
  };
  const socket = await RawSocket.connect({ port, path: PLUME.path, onText, onClose: () => fail(new Error('closed')), timeoutMs });
  socket.send(joinFrame(room, since));
  return { socket, done };
}

/**
 * A publisher and one watcher per room on node `port`: `round(count)` publishes `count`
 * broadcasts to every room and resolves once the watchers received them (they were applied).
 */
async function publisherOn(port, { rooms, payloadBytes }, sockets) {
  const seen = new Array(rooms).fill(0);
  sockets.push(...(await connectMembers(PLUME, port, { rooms, perRoom: 1, onDelivery: (_buf, _start, _end, state) => seen[state.room]++ })));
  const publisher = await connectPublisher(PLUME, port);
  sockets.push(publisher);
  let n = 0;
  return async function round(count) {
    const target = seen.map((s) => s + count);
    for (let i = 0; i < count; i++) for (let r = 0; r < rooms; r++) publisher.send(PLUME.publish(`room:${r}`, dataJson(payloadBytes, 0, n++)));
    await until(() => seen.every((s, r) => s >= target[r]), 30_000, `${count} broadcasts per room to be applied`);
  };
}

/** The clients' first life: each joins its room on `port` (200 at a time) and keeps its reply's head as `since`. */
async function joinAll(port, { rooms, perRoom }) {
  const members = [];
  for (let r = 0; r < rooms; r++) for (let m = 0; m < perRoom; m++) members.push({ room: `room:${r}` });
  let next = 0;
  const worker = async () => {
    while (next < members.length) {
      const member = members[next++];
      const { reply } = await (await client(port, member.room, null, 10_000)).done;
      member.since = { epoch: reply.epoch, seq: reply.seq };
    }
  };
  await Promise.all(Array.from({ length: 200 }, worker));
  return members;
}

/**
 * The storm itself: every member's socket opened in the same turn, each joining with its `since`
 * as soon as it is open. Resolves with each client's outcome and the time it started.
 */
async function storm(port, members, deadlineMs, sockets) {
  let timer;
  const deadline = new Promise((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`not recovered within ${deadlineMs} ms`)), deadlineMs)));
  deadline.catch(() => {}); // every client's race below reports it
  const t0 = performance.now();
  const outcomes = await Promise.all(members.map(async (member) => {
    try {
      const { socket, done } = await Promise.race([client(port, member.room, member.since, deadlineMs), deadline]);
      const openedAt = performance.now() - t0;
      sockets.push(socket);
      const state = await Promise.race([done, deadline]);
      return { ok: true, openedAt, doneAt: state.doneAt - t0, state };
    } catch (error) {
      return { ok: false, error: error.message };
    }
  }));
  clearTimeout(timer);
  return outcomes;
}

/** The storm's figures from its outcomes and the readings before and after it. */
function summarize(outcomes, { missed, before, after }) {
  const clients = outcomes.length;
  const good = outcomes.filter((o) => o.ok && o.state.reply.recovered && o.state.replayed === missed);
  const times = good.map((o) => o.doneAt).sort((x, y) => x - y);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  const opened = outcomes.filter((o) => o.ok).map((o) => o.openedAt);
  const failures = outcomes.filter((o) => !o.ok).map((o) => o.error);
  const commands = commandDelta(before.commands, after.commands);
  const cpu = (key) => after[key].user + after[key].system - before[key].user - before[key].system;
  return {
    recovered: good.length,
    failures: failures.length,
    firstFailure: failures[0] ?? null,
    allRecoveredMs: good.length === clients ? times[times.length - 1] : NaN,
    /** Until the last socket was open (upgraded): the node's share of the storm that is not recovery. */
    allConnectedMs: opened.length === clients ? Math.max(...opened) : NaN,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    commands,
    commandsPerClient: commands.total / clients,
    scriptsPerClient: commands.scripts / clients,
    nodeCpuSec: cpu('node'),
    redisCpuSec: cpu('redis'),
  };
}

/**
 * Runs one storm of `rooms × perRoom` clients, each missing `missed` broadcasts.
 * `coalesce: false` starts the nodes with `--no-coalesce` (every join reads history itself).
 */
export async function recoveryStorm({ file, pinned, rooms, perRoom, missed, before = 10, payloadBytes = 200, coalesce = true, deadlineMs = 60_000 }) {
  const cluster = await startCluster({ file, contender: 'plume', nodes: ['a', 'b'], pinned, extra: coalesce ? [] : ['--no-coalesce'] });
  const sockets = [];
  try {
    const round = await publisherOn(cluster.nodes.a.port, { rooms, payloadBytes }, sockets);
    await round(before);
    const members = await joinAll(cluster.nodes.b.port, { rooms, perRoom });
    await cluster.kill('b');
    await round(missed);
    const b = await cluster.restart('b');
    await sleep(300);
    const read = async () => {
      const [commands, redis, node] = await Promise.all([cluster.redis.commands(), cluster.redis.cpuSplit(), b.cpuSplit()]);
      return { commands, redis, node };
    };
    const readBefore = await read();
    const outcomes = await storm(b.port, members, deadlineMs, sockets);
    const readAfter = await read();
    return { rooms, perRoom, clients: members.length, missed, coalesce, ...summarize(outcomes, { missed, before: readBefore, after: readAfter }) };
  } finally {
    destroyAll(sockets);
    await cluster.stop();
  }
}
