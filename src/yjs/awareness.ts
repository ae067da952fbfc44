/**
 * Awareness (cursors, selections, who is editing) over a channel: y-protocols'
 * awareness updates as ephemeral events `yjs:awareness` (PROTOCOL.md §11),
 * peer to peer over the mesh where it can, never stored. A member that joins
 * asks the others for their states (`{query: true}`). A member's states
 * leave when its presence does, or when it says goodbye.
 */
import { toBase64, fromBase64 } from 'lib0/buffer';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import type { Channel } from '../channel';
import type { Unsubscribe } from '../listeners';
import type { Presence } from '../presence';

/** The ephemeral event awareness travels as. */
export const AWARENESS_EVENT = 'yjs:awareness';

/** Applied from the channel: not sent back. */
const REMOTE = 'plume-remote';

/**
 * Wires `awareness` to `channel`; returns the function that unwires it (and says goodbye).
 * With `presence`, the states of a member whose presence left (`state.user.id` = its key) are removed.
 */
export function shareAwareness(channel: Channel, awareness: Awareness, presence?: Presence): Unsubscribe {
  const onUpdate = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
    if (origin === REMOTE) return;
    const changed = [...added, ...updated, ...removed];
    channel.ephemeral(AWARENESS_EVENT, { update: toBase64(encodeAwarenessUpdate(awareness, changed)) });
  };
  awareness.on('update', onUpdate);
  const announce = () => {
    if (awareness.getLocalState() !== null) onUpdate({ added: [], updated: [awareness.clientID], removed: [] }, null);
  };
  const offEvent = channel.on(AWARENESS_EVENT, (payload) => {
    // A member that just joined asks for everyone's state (PROTOCOL.md §11): ours goes to it.
    if (payload.query === true) return announce();
    if (typeof payload.update !== 'string') return;
    try {
      applyAwarenessUpdate(awareness, fromBase64(payload.update), REMOTE);
    } catch {
      // A malformed update from another member: ignored; awareness is a courtesy, not state.
    }
  });
  // Joined (or back): the others learn our state, and we ask for theirs rather than wait for their
  // renewals (every 15 s).
  const offState = channel.onStateChange(({ to }) => {
    if (to !== 'joined') return;
    announce();
    channel.ephemeral(AWARENESS_EVENT, { query: true });
  });
  const offLeave = presence?.onLeave((key, current) => {
    if (current.metas.length > 0) return;
    const gone = [...awareness.getStates()].filter(([id, state]) => id !== awareness.clientID && (state as { user?: { id?: unknown } }).user?.id === key).map(([id]) => id);
    if (gone.length > 0) removeAwarenessStates(awareness, gone, REMOTE);
  });
  return () => {
    awareness.off('update', onUpdate);
    offEvent();
    offState();
    offLeave?.();
    // Goodbye: the others drop this member's cursor at once rather than after awareness's timeout.
    removeAwarenessStates(awareness, [awareness.clientID], 'local');
    channel.ephemeral(AWARENESS_EVENT, { update: toBase64(encodeAwarenessUpdate(awareness, [awareness.clientID])) });
  };
}

export { Awareness };
