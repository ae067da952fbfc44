/**
 * The mesh benchmark's browser page, bundled by `run.mjs` with esbuild and
 * served from the benchmark's Plume server (`staticDir`, same origin), one
 * page per browser context. Driven through `window.meshBench` with
 * Playwright's `page.evaluate`.
 *
 * A page is one room member: a Plume socket with `plume/mesh` (or without,
 * for the mesh-off run). Before joining the room it estimates the offset
 * between its clock and the server's over the same socket (the reply with
 * the shortest round trip wins), so it can turn the server's stamp `t` in
 * each `msg` payload into a latency. Both sides read
 * `performance.timeOrigin + performance.now()`. Not responsible for
 * statistics (`report.mjs`).
 */
import { Socket, type Channel } from '../../src/index';
import { mesh } from '../../src/mesh/index';

interface Joined {
  socket: Socket;
  room: Channel;
  counts: Map<number, number>;
  /** `[n, latencyMs]` pairs, in arrival order. */
  arrivals: number[];
  outOfOrder: number;
  lastN: number;
  offsetMs: number;
  rttMs: number;
}

const now = () => performance.timeOrigin + performance.now();
let member: Joined | null = null;

/** Server clock minus this page's, from the round trip with the shortest time. */
async function clockOffset(socket: Socket, rounds: number): Promise<{ offsetMs: number; rttMs: number }> {
  const clock = socket.channel('bench:clock');
  await clock.join();
  let best = { offsetMs: 0, rttMs: Infinity };
  for (let i = 0; i < rounds; i++) {
    const t0 = now();
    const result = await clock.push('now', {});
    const t1 = now();
    if (result.status !== 'ok') throw new Error(`clock push: ${result.status}`);
    if (t1 - t0 < best.rttMs) best = { offsetMs: (result.response.t as number) - (t0 + t1) / 2, rttMs: t1 - t0 };
  }
  await clock.leave();
  return best;
}

const api = {
  ready: true,

  async start({ topic, name, mesh: meshOn }: { topic: string; name: string; mesh: boolean }): Promise<{ offsetMs: number; rttMs: number }> {
    const socket = new Socket('/socket', { params: { name }, gapWaitMs: 100, ...(meshOn ? { mesh: mesh({ iceServers: [] }) } : {}) });
    socket.connect();
    const { offsetMs, rttMs } = await clockOffset(socket, 30);
    const room = socket.channel(topic);
    const joined: Joined = { socket, room, counts: new Map(), arrivals: [], outOfOrder: 0, lastN: 0, offsetMs, rttMs };
    room.on('msg', (payload) => {
      const arrived = now() + offsetMs;
      const n = payload.n as number;
      joined.counts.set(n, (joined.counts.get(n) ?? 0) + 1);
      if (n <= joined.lastN) joined.outOfOrder++;
      joined.lastN = Math.max(joined.lastN, n);
      joined.arrivals.push(n, arrived - (payload.t as number));
    });
    const result = await room.join();
    if (result.status !== 'ok') throw new Error(`join: ${JSON.stringify(result)}`);
    member = joined;
    return { offsetMs, rttMs };
  },

  stats(): { relayed: boolean; linksUp: number; links: number; forwarding: boolean } | null {
    const s = member?.room.stats().mesh;
    if (!s) return null;
    return { relayed: !s.planDirect, linksUp: s.peers.filter((p) => p.up).length, links: s.peers.length, forwarding: s.forwardTo.length > 0 };
  },

  progress(): number {
    return member?.counts.size ?? 0;
  },

  report(): unknown {
    if (!member) return null;
    const s = member.room.stats();
    return {
      counts: [...member.counts.entries()],
      arrivals: member.arrivals,
      outOfOrder: member.outOfOrder,
      repairs: s.repairs,
      offsetMs: member.offsetMs,
      rttMs: member.rttMs,
      mesh: s.mesh && { planDirect: s.mesh.planDirect, receivedDirect: s.mesh.receivedDirect, receivedRelayed: s.mesh.receivedRelayed, forwarded: s.mesh.forwarded, forgeries: s.mesh.forgeries, duplicates: s.mesh.duplicates },
    };
  },

  stop(): void {
    member?.socket.disconnect();
    member = null;
  },
};

declare global {
  interface Window {
    meshBench: typeof api;
  }
}

window.meshBench = api;
