/**
 * A push with a message id (PROTOCOL.md §7, message ids), from the moment
 * its frame is read to its answer.
 *
 * Its id is claimed at once (`at-most-once.ts`), so a client's window of
 * durable sends has its claims in flight together instead of one round trip
 * to the engine each; its handler still runs in the channel's frame order,
 * once its claim is granted; and the frames behind it wait until that
 * handler has run (its broadcasts are then queued in order), or until it is
 * answered without running: a duplicate, a refusal, or a retry whose
 * original still runs on an older socket of this user or on another node,
 * which keeps them waiting so that the sender's order holds. Its answer
 * waits for its broadcasts, in the channel's order of answers.
 *
 * Responsible for that sequence. Not responsible for claiming and
 * recording (`at-most-once.ts`), handling (`channels/instance.ts`) or the
 * reply's frame (`connection.ts`).
 */
import type { ChannelInstance } from '../channels/instance';
import type { Payload } from '../../src/protocol';
import type { AtMostOnce, HeldClaim, Outcome } from './at-most-once';

/** What happens to a durable push's answer: `duplicate` is true for every answer but the original's. */
export type DurableAnswer = (outcome: Outcome, duplicate: boolean) => void;

/**
 * @example durablePush(once, instance, key, user, { event, payload, id }, (outcome, duplicate) => reply(outcome, duplicate));
 */
export function durablePush(
  once: AtMostOnce,
  instance: ChannelInstance,
  key: string,
  user: string,
  push: { event: string; payload: Payload | Uint8Array; id: string },
  answer: DurableAnswer,
): void {
  const slot = instance.reserveAnswer();
  // The channel's turn: null until it comes, then what lets the frames behind go on.
  let release: (() => void) | null = null;
  let aborted = false;
  // The claim was granted and waits for the turn (null until then, or once used).
  let granted: { finish: (outcome: Outcome) => void; claim: HeldClaim } | null = null;
  let answered = false;

  const run = (finish: (outcome: Outcome) => void, claim: HeldClaim, go: () => void): void => {
    // A claim that waited for its turn for half its lease is claimed again first, so that no attempt
    // elsewhere can have taken it over by the time the handler is done (start comes back here then).
    if (!instance.joined) return finish({ kind: 'aborted' });
    if (!claim.fresh()) return claim.renew();
    const running = instance.handleNow(push.event, push.payload, push.id, finish);
    if (running instanceof Promise) running.then(go, go);
    else go();
  };

  once.run(key, user, (finish, claim) => {
    if (aborted) return finish({ kind: 'aborted' });
    if (release) return run(finish, claim, release);
    granted = { finish, claim };
  }, (outcome, duplicate) => {
    answered = true;
    slot(() => answer(outcome, duplicate));
    release?.();
  });

  instance.inOrder((go) => {
    release = go;
    if (granted) {
      const { finish, claim } = granted;
      granted = null;
      run(finish, claim, go);
    } else if (answered) go();
  }, () => {
    // The channel ended first. Claimed but never run: the claim is given back (a retry runs it), and
    // the push is answered 'aborted'. Still being claimed: the same happens when the claim comes back.
    aborted = true;
    if (!granted) return;
    const { finish } = granted;
    granted = null;
    finish({ kind: 'aborted' });
  });
}
