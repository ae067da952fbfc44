/**
 * Presence across server nodes: each node tracks its own sockets and keeps
 * a replica of every other node's presences, carried over PubSub on the
 * internal topic `plume:presence` (Phoenix.Tracker's model, simplified).
 *
 * Responsible for the replication protocol: numbered deltas per node,
 * heartbeats, state requests when a node is new or a delta went missing,
 * and dropping the presences of a node that stopped or went silent. Not
 * responsible for what a delta means (`tracker.ts` applies it).
 */
import { randomBytes } from 'node:crypto';
import { isPayload, type PresenceDiff, type PresenceState } from '../../src/protocol';
import type { NodeRegistry } from '../engine/engine';
import type { PubSub, Subscription } from '../pubsub/pubsub';

/** The PubSub topic presence replication travels on. Reserved: no channel should use it. */
export const PRESENCE_TOPIC = 'plume:presence';

/** Presences of one node, by topic. */
export type NodeState = Record<string, PresenceState>;

/** The body of a replication message; see PROTOCOL.md, "Presence across nodes". */
export type ClusterBody =
  | { op: 'delta'; seq: number; topic: string; diff: PresenceDiff }
  | { op: 'heartbeat'; seq: number }
  | { op: 'sync'; to: string | null }
  | { op: 'state'; seq: number; topics: NodeState }
  | { op: 'down' };

/** What travels between nodes; `boot` tells a restarted node (same name) from its previous life. */
export type ClusterMessage = { kind: typeof PRESENCE_TOPIC; node: string; boot: string } & ClusterBody;

/** What the cluster needs from the tracker. */
export interface ClusterHost {
  /** Applies another node's changes to one topic. */
  applyDelta(node: string, topic: string, diff: PresenceDiff): void;
  /** Replaces everything known of `node` with its full state. */
  replaceNode(node: string, topics: NodeState): void;
  /** Forgets every presence of `node`. */
  dropNode(node: string): void;
  /** This node's own presences, after publishing every pending change. */
  localState(): NodeState;
}

interface Peer {
  boot: string;
  /** Number of the last delta applied. */
  seq: number;
  lastSeen: number;
}

/** Heartbeats a node misses before the others ask the engine's registry whether it is down. */
const MISSED_HEARTBEATS = 3;
/** Heartbeats a node misses before it counts as down whatever the registry says (its bus is broken). */
const MISSED_FOR_GOOD = 10;

function isClusterMessage(message: unknown): message is ClusterMessage {
  return isPayload(message) && message.kind === PRESENCE_TOPIC && typeof message.node === 'string' && typeof message.boot === 'string';
}

/**
 * @example
 * const cluster = new PresenceCluster(pubsub, tracker, 5_000);
 * cluster.start();                   // asks the other nodes for their state
 * cluster.publish('room:lobby', diff); // this node's changes to one topic
 */
export class PresenceCluster {
  readonly node: string;
  private readonly boot = randomBytes(6).toString('base64url');
  private readonly peers = new Map<string, Peer>();
  /** When this node last asked a peer for its state, so a burst of gaps asks once. */
  private readonly asked = new Map<string, number>();
  private seq = 0;
  private subscription: Subscription | null = null;
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly pubsub: PubSub,
    private readonly host: ClusterHost,
    private readonly heartbeatMs: number,
    /** Where nodes beat (the engine's): a node that misses heartbeats is down only once its beat lapsed too. */
    private readonly nodes: NodeRegistry | null = null,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.node = pubsub.nodeName;
  }

  /** Subscribes, asks every node for its state, and starts heartbeats. */
  start(): void {
    if (this.subscription) return;
    this.subscription = this.pubsub.subscribe(PRESENCE_TOPIC, (message) => this.receive(message));
    this.send({ op: 'sync', to: null });
    this.beat();
    this.ticker = setInterval(() => this.tick(), this.heartbeatMs);
    this.ticker.unref();
  }

  /** Tells the other nodes this node's presences are gone, and stops. */
  close(): void {
    if (!this.subscription) return;
    this.send({ op: 'down' });
    this.nodes?.leave(this.node).catch((error: unknown) => this.onError(error));
    clearInterval(this.ticker);
    this.pubsub.unsubscribe(this.subscription);
    this.subscription = null;
  }

  /** Sends this node's changes to one topic to the other nodes. */
  publish(topic: string, diff: PresenceDiff): void {
    if (this.subscription) this.send({ op: 'delta', seq: ++this.seq, topic, diff });
  }

  private send(body: ClusterBody): void {
    const message: ClusterMessage = { kind: PRESENCE_TOPIC, node: this.node, boot: this.boot, ...body };
    // broadcastFrom: every node but this subscription; this node already applied its own changes.
    if (this.subscription) this.pubsub.broadcastFrom(this.subscription.id, PRESENCE_TOPIC, message);
  }

  private receive(message: unknown): void {
    if (!isClusterMessage(message) || message.node === this.node) return;
    switch (message.op) {
      case 'down':
        return this.forget(message.node);
      case 'sync':
        if (message.to === null || message.to === this.node) this.answer();
        return;
      case 'state':
        return this.replaced(message);
      default:
        return this.sequenced(message);
    }
  }

  /** A node's full state: replaces the replica unless it is older than what was applied. */
  private replaced(message: ClusterMessage & { op: 'state' }): void {
    const peer = this.peers.get(message.node);
    if (peer && peer.boot === message.boot && message.seq < peer.seq) return;
    this.peers.set(message.node, { boot: message.boot, seq: message.seq, lastSeen: Date.now() });
    this.asked.delete(message.node);
    this.host.replaceNode(message.node, message.topics);
  }

  /** A delta or heartbeat: applied in order; a gap or an unknown node asks for the full state. */
  private sequenced(message: ClusterMessage & { op: 'delta' | 'heartbeat' }): void {
    const peer = this.peers.get(message.node);
    if (!peer || peer.boot !== message.boot) return this.ask(message.node);
    peer.lastSeen = Date.now();
    if (message.op === 'heartbeat') {
      if (message.seq !== peer.seq) this.ask(message.node);
      return;
    }
    if (message.seq === peer.seq + 1) {
      peer.seq = message.seq;
      this.host.applyDelta(message.node, message.topic, message.diff);
    } else if (message.seq > peer.seq + 1) {
      this.ask(message.node);
    }
  }

  /** Sends this node's full state, numbered after the deltas that publishing its pending changes sends first. */
  private answer(): void {
    const topics = this.host.localState();
    this.send({ op: 'state', seq: this.seq, topics });
  }

  private ask(node: string): void {
    const now = Date.now();
    if (now - (this.asked.get(node) ?? -Infinity) < this.heartbeatMs) return;
    this.asked.set(node, now);
    this.send({ op: 'sync', to: node });
  }

  private forget(node: string): void {
    this.peers.delete(node);
    this.asked.delete(node);
    this.host.dropNode(node);
  }

  /** Says in the registry that this node is alive, for as long as the others wait before asking it. */
  private beat(): void {
    this.nodes?.beat(this.node, MISSED_HEARTBEATS * this.heartbeatMs).catch((error: unknown) => this.onError(error));
  }

  /**
   * Heartbeat, and drop nodes that went silent (killed without saying `down`): silent for three
   * heartbeats and gone from the registry, or silent for ten whatever the registry says. A node whose
   * heartbeats are late (a long pause) but which still beats in the registry keeps its presences, so
   * members on healthy nodes do not flap.
   */
  private tick(): void {
    this.send({ op: 'heartbeat', seq: this.seq });
    this.beat();
    const now = Date.now();
    for (const [node, peer] of [...this.peers]) {
      if (peer.lastSeen >= now - MISSED_HEARTBEATS * this.heartbeatMs) continue;
      if (!this.nodes || peer.lastSeen < now - MISSED_FOR_GOOD * this.heartbeatMs) {
        this.forget(node);
        continue;
      }
      this.nodes.alive(node).then(
        (alive) => {
          if (!alive && this.peers.get(node) === peer && peer.lastSeen < Date.now() - MISSED_HEARTBEATS * this.heartbeatMs) this.forget(node);
        },
        (error: unknown) => this.onError(error),
      );
    }
  }
}
