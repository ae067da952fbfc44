/**
 * Presence metas: checking the fields server code and clients supply, and
 * composing an entry's meta from them.
 *
 * A meta is `{...client fields, ...server fields, phx_ref}`: fields set by
 * server code win, so a client cannot change what the server vouches for
 * (such as `name`), and nobody but the tracker sets `phx_ref`/`phx_ref_prev`.
 */
import { isPayload, type Payload } from '../../src/protocol';
import type { ChannelSocket } from '../channels/channel';
import { fieldsBytes } from './limits';
import type { LocalTrack, PresenceMember } from './topic';

/** The fields of a meta as supplied, checked, without `phx_ref`/`phx_ref_prev`. Throws on misuse. */
export function fields(meta: unknown, what: string): Payload {
  if (!isPayload(meta)) throw new TypeError(`${what}: a meta must be a plain object, got ${String(meta)}`);
  try {
    JSON.stringify(meta);
  } catch (err) {
    throw new TypeError(`${what}: the meta cannot be serialized to JSON: ${(err as Error).message}`, { cause: err });
  }
  const { phx_ref: _ref, phx_ref_prev: _prev, ...rest } = meta;
  return rest;
}

/**
 * A client's fields (`plume:presence`) without refs, or null when they are
 * over `maxBytes` as JSON (`presenceMaxMetaBytes`): every member of the topic receives them.
 */
export function clientFields(payload: Payload, maxBytes: number): Payload | null {
  return fieldsBytes(payload) > maxBytes ? null : fields(payload, 'plume:presence');
}

/** An entry's meta without its ref: the client's fields overridden by the server's. */
export function content(local: LocalTrack): Payload {
  return { ...local.clientMeta, ...local.serverMeta };
}

/**
 * JSON with object keys sorted, to compare metas whatever order their fields were set in.
 * @example canonical({ b: 1, a: [2] }) // '{"a":[2],"b":1}'
 */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPayload(value)) {
    const keys = Object.keys(value).filter((key) => value[key] !== undefined).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The channel behind a handler's socket; throws when given anything else. */
export function asMember(socket: ChannelSocket, what: string): PresenceMember {
  const candidate = socket as Partial<PresenceMember>;
  if (typeof candidate.sendRaw !== 'function' || typeof candidate.topic !== 'string') {
    throw new TypeError(`presence.${what} needs the socket your channel handler was given`);
  }
  return socket as unknown as PresenceMember;
}
