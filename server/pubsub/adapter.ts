/**
 * The seam between PubSub and whatever carries messages between server nodes.
 *
 * An adapter only moves envelopes between nodes; delivery to subscribers on
 * this node is PubSub's job. The embedded default is `MemoryAdapter` (one
 * process); a Redis adapter implements the same interface.
 */

/**
 * What travels between nodes. `message` must be JSON-serializable for any adapter but memory.
 * A channel broadcast (`kind: "plume:broadcast"`) also carries its payload as text and as UTF-8
 * bytes (`payloadJson`, `payloadBytes`) for this node's fan-out: a network adapter should leave
 * both out, since the receiving node serializes the payload itself (bytes that arrive as anything
 * but a Buffer are ignored).
 */
export interface Envelope {
  topic: string;
  message: unknown;
  /** Subscription id to skip (broadcast-from), or null. */
  from: string | null;
  /** Name of the node that published it. */
  node: string;
}

/** Carries envelopes to the other nodes of a cluster. */
export interface PubSubAdapter {
  /** This node's name, unique in the cluster. */
  readonly nodeName: string;
  /** Begins delivering envelopes published by *other* nodes to `deliver`. */
  start(deliver: (envelope: Envelope) => void): Promise<void> | void;
  /** Sends an envelope to every other node. Must not deliver it back to this node. */
  publish(envelope: Envelope): void;
  /** Stops delivering and releases connections. */
  close(): Promise<void> | void;
}
