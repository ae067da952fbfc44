/**
 * Part 3 of the mesh benchmark: what batch-signing costs the server, as
 * broadcasts per second on the fan-out harness of `npm run bench`, with the
 * server in a child process pinned to its own core. See README.md.
 */
import { CONTENDERS } from '../lib/contenders.mjs';
import { fanout, sleep, until } from '../lib/load.mjs';
import { pinning, startServer } from '../lib/servers.mjs';
import { RawSocket } from '../lib/wsclient.mjs';

export const SIGNING_SCENARIOS = [
  { label: '100 rooms × 10, 1 KB', rooms: 100, perRoom: 10, payloadBytes: 1024 },
  { label: '30 rooms × 32, 1 KB', rooms: 30, perRoom: 32, payloadBytes: 1024 },
];

/**
 * Joins one member to `topic`; with `mesh`, it asks to mesh, reports every
 * link the server gives it as up (no WebRTC behind it) and tells
 * `onPlan(direct)` each plan; `onMessage()` hears each broadcast (event
 * `msg`). Only the start of each frame is looked at:
 * the load core also receives every broadcast here. Resolves to the
 * socket once joined.
 */
function joinMember(port, topic, mesh, onPlan, onMessage = () => {}) {
  return new Promise((resolve) => {
    let socket;
    const reported = new Set();
    const onText = (buf, start, end) => {
      const head = buf.toString('latin1', start, Math.min(end, start + 60));
      if (head.includes('"msg"')) return onMessage();
      if (head.includes('"phx_reply"')) resolve(socket);
      if (!head.includes('"plume:mesh"')) return;
      const [joinRef, , , , plan] = JSON.parse(buf.toString('utf8', start, end));
      for (const peer of plan.links) {
        if (reported.has(peer)) continue;
        reported.add(peer);
        socket.send(JSON.stringify([joinRef, `l${peer}`, topic, 'plume:link', { peer, up: true }]));
      }
      onPlan(plan.direct);
    };
    RawSocket.connect({ port, path: CONTENDERS.plume.path, onText }).then((s) => {
      socket = s;
      s.send(JSON.stringify(['x1', 'x1', topic, 'phx_join', {}, ...(mesh ? [{ mesh: true }] : [])]));
    });
  });
}

/** How many servers part 3 runs per scenario and round (the variants of `signingPart`). */
export const SIGNING_VARIANTS = 6;

/**
 * Extra sockets per room, beside the measured members (their frames are
 * not counted). `{ plain: n }`: n plain members. `{ mesh: n }`: n members
 * that ask to mesh and report their links up; waits until the plan of every
 * room has settled with n - 1 of them reached through the first (which gets
 * signed frames), so the server signs every broadcast of the room.
 */
export async function extraMembers(port, rooms, kind) {
  const sockets = [];
  const mesh = kind.mesh !== undefined;
  const count = mesh ? kind.mesh : kind.plain;
  const relayed = Array.from({ length: rooms }, () => new Set());
  let lastPlan = performance.now();
  for (let r = 0; r < rooms; r++) {
    for (let k = 0; k < count; k++) {
      const onPlan = (direct) => {
        lastPlan = performance.now();
        if (direct) relayed[r].delete(k);
        else relayed[r].add(k);
      };
      sockets.push(await joinMember(port, `room:${r}`, mesh, onPlan));
    }
  }
  if (mesh) await until(() => relayed.every((set) => set.size === count - 1) && performance.now() - lastPlan > 500, 20_000, `${count - 1} relayed members in every room`);
  return sockets;
}

/**
 * The fewest mesh members a room of the default server needs before it
 * relays (and signs) at all (`mesh.minRelayed` + 1): members that report
 * their links up join one room until its settled plan relays.
 */
export async function smallestRelayingRoom(files, pinned) {
  const server = await startServer(process.execPath, [files.signing, '--port', '0'], { pinned });
  const sockets = [];
  try {
    const relayed = new Set();
    let lastPlan = performance.now();
    for (let size = 1; size <= 64; size++) {
      const k = size;
      sockets.push(
        await joinMember(server.port, 'room:0', true, (direct) => {
          lastPlan = performance.now();
          if (direct) relayed.delete(k);
          else relayed.add(k);
        }),
      );
      await sleep(100);
      await until(() => performance.now() - lastPlan > 500, 10_000, 'a settled plan');
      if (relayed.size > 0) return size;
    }
    throw new Error('no room of up to 64 mesh members relays');
  } finally {
    sockets.forEach((s) => s.destroy());
    await server.stop();
  }
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
    const connect = async (r, k) => {
      const onPlan = (isDirect) => {
        lastPlan = performance.now();
        (isDirect ? direct : relayed)[r].add(k);
        (isDirect ? relayed : direct)[r].delete(k);
      };
      sockets.push(await joinMember(port, `room:${r}`, true, onPlan, () => ready && onDelivery()));
    };
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
  const smallest = await smallestRelayingRoom(files, pin.pinned);
  console.log(`[bench:mesh] signing cost: the default server relays from rooms of ${smallest} mesh members (mesh.minRelayed ${smallest - 1})`);
  const VARIANTS = {
    off: { args: ['--mesh', 'off'], extras: { plain: 1 } },
    // Relaying to a single member, which the default server does not do: what signing itself costs.
    signed: { args: ['--mesh-min-relayed', '1'], extras: { mesh: 2 } },
    plain: { args: [], extras: { plain: 1 } },
    // As many members as the others' rooms (the measured ones and the extra), all meshed.
    meshed: { args: [], extras: null, members: (scenario) => meshedMembers(scenario.rooms, scenario.perRoom + 1) },
    // The least the default server relays to, against the same room with the mesh off.
    edge: { args: [], extras: { mesh: smallest } },
    edgeOff: { args: ['--mesh', 'off'], extras: { plain: smallest } },
  };
  const names = Object.keys(VARIANTS);
  if (names.length !== SIGNING_VARIANTS) throw new Error(`SIGNING_VARIANTS is ${SIGNING_VARIANTS}, but there are ${names.length} variants`);
  const scenarios = [];
  for (const scenario of SIGNING_SCENARIOS) {
    const best = {};
    // Rounds in rotated orders, so that no variant always runs first or last. On a shared machine
    // throughput drifts by tens of percent within a minute: the ratios are taken within each
    // round, between runs seconds apart, and the median round counts (the best run of each
    // variant, taken from different minutes, swung the signed/off ratio of one scenario from 68%
    // to 114% between two runs of the part).
    const rounds = names.map((_, i) => [...names.slice(i), ...names.slice(0, i)]);
    const perRound = Array.from({ length: config.signing.repeats }, () => ({}));
    const order = perRound.flatMap((round, i) => rounds[i % rounds.length].map((variant) => [round, variant]));
    for (const [round, variant] of order) {
      const server = await startServer(process.execPath, [files.signing, '--port', '0', ...VARIANTS[variant].args], { pinned: pin.pinned });
      try {
        const { extras, members } = VARIANTS[variant];
        const sockets = extras ? await extraMembers(server.port, scenario.rooms, extras) : [];
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
    const ratios = (variant, key, base = 'off') => perRound.map((r) => r[variant][key] / r[base][key]);
    scenarios.push({
      ...scenario,
      ...best,
      signedShare: median(ratios('signed', 'broadcastsPerSec')),
      signedCpuShare: median(ratios('signed', 'broadcastsPerCpuSec')),
      plainShare: median(ratios('plain', 'broadcastsPerSec')),
      meshedShare: median(ratios('meshed', 'broadcastsPerSec')),
      meshedCpuShare: median(ratios('meshed', 'broadcastsPerCpuSec')),
      signedShares: ratios('signed', 'broadcastsPerSec'),
      edgeShare: median(ratios('edge', 'broadcastsPerSec', 'edgeOff')),
      edgeCpuShare: median(ratios('edge', 'broadcastsPerCpuSec', 'edgeOff')),
      edgeShares: ratios('edge', 'broadcastsPerSec', 'edgeOff'),
    });
  }
  const note = `Columns: \`mesh: false\` never signs. "Smallest room the default server relays": the measured members plus ${smallest} extra members per room that ask to mesh and report every link up (no WebRTC behind them, nobody forwards), the fewest with which the default server relays at all (\`mesh.minRelayed\`, 4: ${smallest - 1} of them are reached through the first, which gets signed frames, so every broadcast of the room is batch-signed), against the same room with \`mesh: false\` (${smallest} plain extras): the least favourable room for signing that the default server ever signs for, and the target's row. "Relaying to one member": two extra members that mesh, on a server with \`minRelayed: 1\`, so one is relayed and every broadcast is signed while the server still sends the others' frames itself: what signing alone costs: this server, the first column's and the next column's each send every broadcast to the measured members plus one extra frame, so only signing differs. "No member asked to mesh": the default server (mesh on) with plain Plume members only, as in \`npm run bench\`. "Mesh carries the room": as many members per room as the first columns, all meshing, so the plan relays most of them and the server sends each broadcast, signed, only to the few it plans as direct (their mean per room in brackets): what the server sustains when the mesh does its job. Broadcasts/s = deliveries/s at the measured members ÷ the measured members per room that get each broadcast from the server, best run of each variant; the ratios are medians of the ratios within each round (runs seconds apart), so they need not equal the ratio of the best runs.`;
  return { smallestRelayingRoom: smallest, pinning: pin.pinned ? `Pinned with taskset: ${pin.note}.` : `Not pinned: ${pin.note}.`, scenarios, note };
}
