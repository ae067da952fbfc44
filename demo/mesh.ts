/**
 * What the mesh panel says about the room on screen, worked out from
 * `room.stats()` and the names people gave: how messages reach this member
 * (straight from the server, or passed on by a peer), its peers and their
 * links, the share of messages that came through peers, what it passed on
 * for others, gaps refilled from the server, forgeries turned away.
 *
 * Pure, so it is unit-tested without a browser. Not responsible for showing
 * anything (`ui/mesh-panel.ts`).
 */
import type { MeshStats } from 'plume/mesh';

/** How messages reach this member: `off` without WebRTC, `joining` before the room has placed it. */
export type Route = 'off' | 'joining' | 'direct' | 'relayed';

export interface MeshPeer {
  id: string;
  name: string;
  up: boolean;
  /** This member passes the room's messages on to that peer. */
  fedByYou: boolean;
}

export interface MeshSummary {
  route: Route;
  /** Short, for the panel's headline: "Straight from the server". */
  routeText: string;
  /** One sentence under it: what this member does for others, or why there is no mesh. */
  detail: string;
  peers: MeshPeer[];
  peersUp: number;
  receivedDirect: number;
  receivedRelayed: number;
  /** Share of received messages that came through peers (0–1), or null before any arrived. */
  relayedShare: number | null;
  forwarded: number;
  bytesForwarded: number;
  forwardTo: number;
  repairs: number;
  forgeries: number;
}

/** The counters a room reports (`room.stats()`). */
export interface RoomStats {
  repairs: number;
  mesh: MeshStats | null;
}

const ROUTE_TEXT: Record<Route, string> = {
  off: 'Straight from the server',
  joining: 'Joining the mesh…',
  direct: 'Straight from the server',
  relayed: 'Passed on by a peer',
};

/**
 * "Ada", "Ada and Bob", "Ada, Bob and Cy".
 * @example listNames(['Ada', 'Bob', 'Cy']) // => 'Ada, Bob and Cy'
 */
export function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * Bytes for people: "512 B", "5.1 KB", "2.4 MB".
 * @example formatBytes(5_222) // => '5.1 KB'
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A peer's name, or a short stand-in until it has said who it is. */
function nameOf(id: string, names: ReadonlyMap<string, string>): string {
  return names.get(id) ?? `Someone (${id.slice(0, 4)})`;
}

function detailFor(route: Route, fed: readonly string[], linked: boolean): string {
  if (route === 'off') return 'This browser cannot link to peers (no WebRTC), so the server sends it everything.';
  if (route === 'joining') return 'Links to other members are being set up.';
  const passing = fed.length > 0 ? `You pass them on to ${listNames(fed)}.` : '';
  if (route === 'relayed') return passing || 'For now you pass nothing on: you are at the end of the chain.';
  if (passing) return passing;
  // Linked but served directly: a room too small for the server to relay (its mesh.minRelayed), or a member nobody is planned behind.
  if (linked) return 'Your peer links work; the server sends you each message itself, and nobody needs you to pass it on.';
  return 'No peer link works yet, so the server sends you each message itself.';
}

/**
 * @example summarize(room.stats(), room.peers.all()).routeText // => 'Passed on by a peer'
 */
export function summarize(stats: RoomStats, names: ReadonlyMap<string, string>): MeshSummary {
  const mesh = stats.mesh;
  const route: Route = !mesh ? 'off' : mesh.member === null ? 'joining' : mesh.planDirect ? 'direct' : 'relayed';
  const forwardTo = new Set(mesh?.forwardTo ?? []);
  const peers = (mesh?.peers ?? [])
    .map(({ id, up }) => ({ id, up, name: nameOf(id, names), fedByYou: forwardTo.has(id) }))
    .sort((a, b) => Number(b.up) - Number(a.up) || a.name.localeCompare(b.name));
  const receivedDirect = mesh?.receivedDirect ?? 0;
  const receivedRelayed = mesh?.receivedRelayed ?? 0;
  const received = receivedDirect + receivedRelayed;
  const peersUp = peers.filter((peer) => peer.up).length;
  return {
    route,
    routeText: ROUTE_TEXT[route],
    detail: detailFor(route, [...forwardTo].map((id) => nameOf(id, names)), peersUp > 0),
    peers,
    peersUp,
    receivedDirect,
    receivedRelayed,
    relayedShare: received > 0 ? receivedRelayed / received : null,
    forwarded: mesh?.forwarded ?? 0,
    bytesForwarded: mesh?.bytesForwarded ?? 0,
    forwardTo: forwardTo.size,
    repairs: stats.repairs,
    forgeries: mesh?.forgeries ?? 0,
  };
}
