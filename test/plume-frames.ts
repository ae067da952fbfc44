/**
 * Raw Plume frames for integration tests: joins and pushes that carry the
 * sixth element (`meta`), and the reply frames (with their meta) that answer
 * them. Builds on `RawClient`; sends exactly what the test says.
 */
import type { Frame, RawClient } from './helpers';

/** Connect params of a Plume socket. */
export const PLUME = { plume: '1' } as const;

/** Sends `phx_join` with optional meta; resolves with the join_ref and the whole reply frame. */
export async function joinWith(client: RawClient, topic: string, meta?: Record<string, unknown>, params: Record<string, unknown> = {}): Promise<{ joinRef: string; reply: Frame }> {
  const ref = client.ref();
  client.send(meta === undefined ? [ref, ref, topic, 'phx_join', params] : [ref, ref, topic, 'phx_join', params, meta]);
  return { joinRef: ref, reply: await replyFrame(client, ref) };
}

/** Like {@link joinWith}, failing unless the join is accepted. */
export async function joinOkWith(client: RawClient, topic: string, meta?: Record<string, unknown>): Promise<{ joinRef: string; reply: Frame }> {
  const joined = await joinWith(client, topic, meta);
  if (joined.reply.payload.status !== 'ok') throw new Error(`join of ${topic} refused: ${JSON.stringify(joined.reply.payload)}`);
  return joined;
}

/** Sends a push with optional meta; returns its ref. */
export function pushWith(client: RawClient, topic: string, joinRef: string, event: string, payload: Record<string, unknown>, meta?: Record<string, unknown>): string {
  const ref = client.ref();
  client.send(meta === undefined ? [joinRef, ref, topic, event, payload] : [joinRef, ref, topic, event, payload, meta]);
  return ref;
}

/** The `phx_reply` frame answering `ref`, meta included. */
export function replyFrame(client: RawClient, ref: string, timeoutMs?: number): Promise<Frame> {
  return client.next((f) => f.event === 'phx_reply' && f.ref === ref, timeoutMs);
}

/** Sends a push with meta and resolves with its reply frame. */
export function requestWith(client: RawClient, topic: string, joinRef: string, event: string, payload: Record<string, unknown>, meta?: Record<string, unknown>): Promise<Frame> {
  return replyFrame(client, pushWith(client, topic, joinRef, event, payload, meta));
}
