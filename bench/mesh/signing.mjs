/**
 * Part 3 of the mesh benchmark: what batch-signing costs the server, as
 * broadcasts per second on the fan-out harness of `npm run bench`, with the
 * server in a child process pinned to its own core. See README.md.
 */
import { CONTENDERS } from '../lib/contenders.mjs';
import { fanout, until } from '../lib/load.mjs';
import { pinning, startServer } from '../lib/servers.mjs';
import { RawSocket } from '../lib/wsclient.mjs';

export const SIGNING_SCENARIOS = [
  { label: '100 rooms × 10, 1 KB', rooms: 100, perRoom: 10, payloadBytes: 1024 },
  { label: '30 rooms × 32, 1 KB', rooms: 30, perRoom: 32, payloadBytes: 1024 },
];

/**
 * Extra sockets per room for the signing-cost part. `pair`: two members
 * that ask to mesh and report their link up (no WebRTC behind it), so the
 * server plans one of them as relayed and signs every broadcast of the
 * room; the other gets signed frames. `single`: one plain member. Either
 * way the server sends each broadcast one frame more than the measured
 * members get, so the fan-out work is the same.
 */
export async function extraMembers(port, rooms, kind) {
  const sockets = [];
  const relayed = new Set();
  for (let r = 0; r < rooms; r++) {
    const topic = `room:${r}`;
    for (let k = 0; k < (kind === 'pair' ? 2 : 1); k++) {
      let socket;
      const reported = new Set();
      const joined = new Promise((resolve) => {
        const onText = (buf, start, end) => {
          // Only the start of each frame is looked at: the load core also receives every broadcast here.
          const head = buf.toString('latin1', start, Math.min(end, start + 60));
          if (head.includes('"phx_reply"')) resolve();
          if (!head.includes('"plume:mesh"')) return;
          const [joinRef, , , , plan] = JSON.parse(buf.toString('utf8', start, end));
          for (const peer of plan.links) {
            if (reported.has(peer)) continue;
            reported.add(peer);
            socket.send(JSON.stringify([joinRef, `l${peer}`, topic, 'plume:link', { peer, up: true }]));
          }
          if (plan.direct === false) relayed.add(r);
        };
        RawSocket.connect({ port, path: CONTENDERS.plume.path, onText }).then((s) => {
          socket = s;
          sockets.push(s);
          s.send(JSON.stringify(['x1', 'x1', topic, 'phx_join', {}, ...(kind === 'pair' ? [{ mesh: true }] : [])]));
        });
      });
      await joined;
    }
  }
  if (kind === 'pair') await until(() => relayed.size === rooms, 10_000, 'a relayed member in every room');
  return sockets;
}

/**
 * Members for the "mesh carries the room" variant: `size` sockets per room
 * that all ask to mesh and report every link the server gives them as up
 * (no WebRTC behind it), so the plan reaches most of them through peers and
 * the server sends each broadcast only to the few it plans as direct. Waits
 * until every room relays and no plan has changed for 500 ms, then counts a
 * broadcast frame at a direct member as a delivery (relayed members get
 * none: nobody forwards here, this measures the server alone). For
 * `fanout`'s `members` option.
 */
export function meshedMembers(rooms, size) {
  return async (port, onDelivery) => {
    const sockets = [];
    const direct = Array.from({ length: rooms }, () => new Set());
    const relayed = Array.from({ length: rooms }, () => new Set());
    let lastPlan = performance.now();
    let ready = false;
    const connect = (r, k) =>
      new Promise((resolve) => {
        const topic = `room:${r}`;
        const reported = new Set();
        let socket;
        const onText = (buf, start, end) => {
          const head = buf.toString('latin1', start, Math.min(end, start + 60));
          if (head.includes('"msg"')) {
            if (ready) onDelivery();
            return;
          }
          if (head.includes('"phx_reply"')) return resolve();
          if (!head.includes('"plume:mesh"')) return;
          lastPlan = performance.now();
          const [joinRef, , , , plan] = JSON.parse(buf.toString('utf8', start, end));
          for (const peer of plan.links) {
            if (reported.has(peer)) continue;
            reported.add(peer);
            socket.send(JSON.stringify([joinRef, `l${peer}`, topic, 'plume:link', { peer, up: true }]));
          }
          (plan.direct ? direct : relayed)[r].add(k);
          (plan.direct ? relayed : direct)[r].delete(k);
        };
        RawSocket.connect({ port, path: CONTENDERS.plume.path, onText }).then((s) => {
          socket = s;
          sockets.push(s);
          s.send(JSON.stringify(['m1', 'm1', topic, 'phx_join', {}, { mesh: true }]));
        });
      });
    for (let r = 0; r < rooms; r++) for (let k = 0; k < size; k++) await connect(r, k);
    await until(() => relayed.every((set) => set.size > 0) && performance.now() - lastPlan > 500, 20_000, 'a settled plan that relays in every room');
    ready = true;
    return { sockets, deliveries: direct.map((set) => set.size) };
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function signingPart(files, config) {
  const pin = pinning();
  console.log(`[bench:mesh] signing cost: ${pin.pinned ? 'pinned' : 'NOT pinned'}: ${pin.note}`);
  const VARIANTS = {
    off: { args: ['--mesh', 'off'], extras: 'single' },
    signed: { args: [], extras: 'pair' },
    plain: { args: [], extras: 'single' },
    // As many members as the others' rooms (the measured ones and the extra), all meshed.
    meshed: { args: [], extras: 'none', members: (scenario) => meshedMembers(scenario.rooms, scenario.perRoom + 1) },
  };
  const scenarios = [];
  for (const scenario of SIGNING_SCENARIOS) {
    const best = {};
    // Rounds in rotated orders (a Latin square), so that no variant always runs first or always
    // next to the same one. On a shared machine throughput drifts by tens of percent within a
    // minute: the ratios are taken within each round, between runs a few seconds apart, and the
    // median round counts (the best run of each variant, taken from different minutes, swung the
    // signed/off ratio of one scenario from 68% to 114% between two runs of the part).
    const rounds = [
      ['off', 'signed', 'plain', 'meshed'],
      ['signed', 'plain', 'meshed', 'off'],
      ['plain', 'meshed', 'off', 'signed'],
      ['meshed', 'off', 'signed', 'plain'],
    ];
    const perRound = Array.from({ length: config.signing.repeats }, () => ({}));
    const order = perRound.flatMap((round, i) => rounds[i % rounds.length].map((variant) => [round, variant]));
    for (const [round, variant] of order) {
      const server = await startServer(process.execPath, [files.signing, '--port', '0', ...VARIANTS[variant].args], { pinned: pin.pinned });
      try {
        const { extras, members } = VARIANTS[variant];
        const sockets = extras === 'none' ? [] : await extraMembers(server.port, scenario.rooms, extras);
        const result = await fanout(CONTENDERS.plume, server, { ...scenario, ...config.signing, members: members?.(scenario) });
        sockets.forEach((s) => s.destroy());
        const direct = variant === 'meshed' ? `, ${result.perBroadcast.toFixed(1)} direct members per room` : '';
        console.log(`[bench:mesh] signing cost ${scenario.label}, ${variant}: ${Math.round(result.broadcastsPerSec)} broadcasts/s (server CPU ${Math.round(result.serverCpuShare * 100)}%, load CPU ${Math.round(result.loadCpuShare * 100)}%${direct})${result.complete ? '' : ' (INCOMPLETE)'}`);
        if (!best[variant] || result.broadcastsPerSec > best[variant].broadcastsPerSec) best[variant] = result;
        round[variant] = result;
      } finally {
        await server.stop();
      }
    }
    const ratios = (variant, key) => perRound.map((r) => r[variant][key] / r.off[key]);
    scenarios.push({
      ...scenario,
      ...best,
      signedShare: median(ratios('signed', 'broadcastsPerSec')),
      signedCpuShare: median(ratios('signed', 'broadcastsPerCpuSec')),
      plainShare: median(ratios('plain', 'broadcastsPerSec')),
      meshedShare: median(ratios('meshed', 'broadcastsPerSec')),
      meshedCpuShare: median(ratios('meshed', 'broadcastsPerCpuSec')),
      signedShares: ratios('signed', 'broadcastsPerSec'),
    });
  }
  const note = 'Columns: `mesh: false` never signs; "relaying pair per room": two extra members per room ask to mesh and report a link up, so one is relayed and every broadcast of the room is batch-signed (the other gets signed frames); "no member asked to mesh": the default server (mesh on) with plain Plume members only, as in `npm run bench`. Each of those three servers sends every broadcast to the measured members plus one extra frame, so the fan-out work is equal and only signing differs. "Mesh carries the room": as many members per room, all asking to mesh and reporting every link up (no WebRTC behind them, nobody forwards), so the plan relays most of them and the server sends each broadcast, signed, only to the few it plans as direct (their mean per room in brackets): what the server sustains when the mesh does its job. Broadcasts/s = deliveries/s at the members ÷ the members per room that get each broadcast from the server, best run of each variant; the ratios are medians of the ratios within each round (runs seconds apart), so they need not equal the ratio of the best runs.';
  return { pinning: pin.pinned ? `Pinned with taskset: ${pin.note}.` : `Not pinned: ${pin.note}.`, scenarios, note };
}
