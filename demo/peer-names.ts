/**
 * Who the room's mesh peers are: the mesh names members by an id the server
 * gives each connection, so members tell each other their display names
 * with two ephemeral events (unordered, not stored; over the mesh where it
 * works, through the server otherwise):
 *
 * | event        | payload    | meaning |
 * |--------------|------------|---------|
 * | `peer_hello` | `{ name }` | a member (re)joined under a new id; the others answer with `peer_name`. |
 * | `peer_name`  | `{ name }` | an answer. |
 *
 * The sender's id comes from the event's `meta.from` (stamped by the server,
 * or by the peer that first sent it over the mesh). It is a label for the
 * mesh panel, nothing trusts it. Not in presence on purpose: a member's id
 * changes with every join, and presence metas should not.
 */
import type { Channel, MessageInfo, Payload } from 'plume';

/** Longest name kept. */
const MAX_NAME = 40;

/**
 * @example
 * const peers = new PeerNames(channel, () => chat.name);
 * peers.get('x3Gk2bq9WmRa'); // => 'Ada' once Ada has said hello or answered
 */
export class PeerNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly channel: Channel, private readonly self: () => string) {
    channel.on('peer_hello', (payload, info) => {
      if (this.learn(payload, info)) channel.ephemeral('peer_name', { name: self() });
    });
    channel.on('peer_name', (payload, info) => void this.learn(payload, info));
    channel.onStateChange(({ to }) => {
      // A microtask later, once the join's reply (our new id) is applied: until then the mesh tags
      // an ephemeral event's id with "anon", the same for everyone, and the others drop repeats by it.
      if (to === 'joined') queueMicrotask(() => channel.state === 'joined' && channel.ephemeral('peer_hello', { name: self() }));
    });
  }

  /** The display name of the member with mesh id `id`, if it has said. */
  get(id: string): string | undefined {
    return this.names.get(id);
  }

  /** All known names by mesh id. */
  all(): Map<string, string> {
    return new Map(this.names);
  }

  /** Records a name; true when the sender is someone else. */
  private learn(payload: Payload, { meta }: MessageInfo): boolean {
    const from = meta?.from;
    if (typeof from !== 'string' || typeof payload.name !== 'string' || from === this.channel.stats().mesh?.member) return false;
    this.names.set(from, payload.name.slice(0, MAX_NAME));
    return true;
  }
}
