/**
 * A process full of Node room members for the mesh benchmark: Plume
 * sockets (over `ws`) joined to one room, with `plume/mesh` on top of
 * `@roamhq/wrtc` and simple-peer when asked. Bundled by `run.mjs` and
 * started as a child, so the members do not share the server's event loop
 * (and, with two such children, not each other's either).
 *
 * Speaks JSON lines: a command on stdin (`start`, `stats`, `report`,
 * `stop`), one answer on stdout prefixed with `@@`. Each member records, per
 * `msg` broadcast, its counter `n` and its latency: arrival time minus the
 * stamp `t` the server put in the payload, both read from
 * `process.hrtime` (the machine's monotonic clock, the same in every
 * process). Not responsible for statistics or verdicts (`report.mjs`).
 */
import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import WebSocket from 'ws';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Socket, type Channel, type WebSocketLike } from '../../src/index';
import { mesh } from '../../src/mesh/index';

interface Start {
  cmd: 'start';
  url: string;
  topic: string;
  names: string[];
  mesh: boolean;
}

interface Member {
  name: string;
  socket: Socket;
  room: Channel;
  /** How many times each `n` arrived. */
  counts: Map<number, number>;
  /** `[n, latencyMs]` pairs, in arrival order. */
  arrivals: number[];
  outOfOrder: number;
  lastN: number;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const members: Member[] = [];
const fast = { reconnect: { baseMs: 50, maxMs: 200 }, rejoin: { baseMs: 50, maxMs: 200 }, gapWaitMs: 100 };

async function start({ url, topic, names, mesh: meshOn }: Start): Promise<{ joined: number }> {
  for (const name of names) {
    const socket = new Socket(`${url}/socket`, {
      params: { name },
      transport: (u, protocols) => new WebSocket(u, protocols) as unknown as WebSocketLike,
      ...fast,
      ...(meshOn ? { mesh: mesh({ wrtc, SimplePeer }) } : {}),
    });
    socket.connect();
    const room = socket.channel(topic);
    const member: Member = { name, socket, room, counts: new Map(), arrivals: [], outOfOrder: 0, lastN: 0 };
    room.on('msg', (payload) => {
      const arrived = nowMs();
      const n = payload.n as number;
      member.counts.set(n, (member.counts.get(n) ?? 0) + 1);
      if (n <= member.lastN) member.outOfOrder++;
      member.lastN = Math.max(member.lastN, n);
      member.arrivals.push(n, arrived - (payload.t as number));
    });
    members.push(member);
  }
  const results = await Promise.all(members.map((m) => m.room.join()));
  const failed = results.filter((r) => r.status !== 'ok');
  if (failed.length) throw new Error(`${failed.length} joins failed: ${JSON.stringify(failed[0])}`);
  return { joined: members.length };
}

/** Open file descriptors of this process (Linux), or 0: wrtc holds about a hundred per connection while it connects. */
function openFiles(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    // Not Linux: the figure is only reported, nothing depends on it.
    return 0;
  }
}

/** Where the mesh stands: members reached through peers, links up out of links held, open files. */
function stats(): { relayed: number; linksUp: number; links: number; forwarding: number; files: number } {
  let relayed = 0;
  let linksUp = 0;
  let links = 0;
  let forwarding = 0;
  for (const m of members) {
    const s = m.room.stats().mesh;
    if (!s) continue;
    if (!s.planDirect) relayed++;
    if (s.forwardTo.length > 0) forwarding++;
    links += s.peers.length;
    linksUp += s.peers.filter((p) => p.up).length;
  }
  return { relayed, linksUp, links, forwarding, files: openFiles() };
}

/** Everything each member saw, with its channel's counters. */
function report(): unknown {
  return members.map((m) => {
    const s = m.room.stats();
    return {
      name: m.name,
      counts: [...m.counts.entries()],
      arrivals: m.arrivals,
      outOfOrder: m.outOfOrder,
      repairs: s.repairs,
      mesh: s.mesh && { planDirect: s.mesh.planDirect, receivedDirect: s.mesh.receivedDirect, receivedRelayed: s.mesh.receivedRelayed, forwarded: s.mesh.forwarded, forgeries: s.mesh.forgeries, duplicates: s.mesh.duplicates },
    };
  });
}

/** How many distinct `n` each member has (the runner waits for all of them). */
function progress(): number[] {
  return members.map((m) => m.counts.size);
}

function stop(): { stopped: number } {
  for (const m of members) m.socket.disconnect();
  // wrtc keeps the process alive ~5 s after the last peer goes; the runner does not wait for that.
  setTimeout(() => process.exit(0), 300).unref();
  return { stopped: members.length };
}

const answer = (body: unknown) => process.stdout.write(`@@${JSON.stringify(body)}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as { cmd: string; id: number };
  const handlers: Record<string, () => unknown> = {
    start: () => start(command as unknown as Start),
    stats,
    progress,
    report,
    stop,
  };
  const handler = handlers[command.cmd];
  Promise.resolve()
    .then(() => {
      if (!handler) throw new Error(`unknown command ${command.cmd}`);
      return handler();
    })
    .then(
      (result) => answer({ id: command.id, ok: true, result }),
      (err: unknown) => answer({ id: command.id, ok: false, error: String((err as Error).stack ?? err) }),
    );
}).on('close', () => process.exit(0));
