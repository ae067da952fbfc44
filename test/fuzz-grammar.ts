/**
 * The inbound grammar of a Plume server as `fast-check` arbitraries: what a
 * client can put on the wire, valid and not (PROTOCOL.md §2–§10).
 *
 * A generated frame is either a JSON array of elements (each element drawn
 * from plausible values, wrong types, sizes and unicode, lone surrogates
 * included), other JSON or text, raw bytes in a text frame (maybe invalid
 * UTF-8), or a binary frame. `wellFormed` says which frames the protocol
 * requires the server to answer with a reply, never a close.
 *
 * Responsible for generating; the fuzz test (`fuzz.test.ts`) sends them.
 */
import fc from 'fast-check';

/** What goes on the wire for one generated frame: the elements (with the ref to be made unique), or raw text, or raw bytes. */
export type FuzzFrame =
  | { kind: 'array'; elements: unknown[]; refIndexValid: boolean }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array; binary: boolean };

/** Join refs a script reuses, so pushes can address the channels its joins opened. */
export const JOIN_REFS = ['j1', 'j2', 'j3'] as const;
/** Topics with a handler: the relay (`room:*`) and the test's app channel (`app:*`). */
export const TOPICS = ['room:fuzz', 'room:other', 'app:fuzz', 'phoenix'] as const;
/** Every event the protocol names, client → server and server → client (a client may send any). */
export const EVENTS = [
  'phx_join', 'phx_leave', 'heartbeat', 'phx_reply', 'phx_error', 'phx_close', 'presence_state', 'presence_diff',
  'plume:history', 'plume:presence', 'plume:signal', 'plume:link', 'plume:report', 'plume:ephemeral', 'plume:token',
  'plume:skip', 'plume:mesh', 'plume:head', 'plume:keys', 'plume:nope', 'phx_nope', 'presence_nope',
  'msg', 'new_msg', 'reply_error', 'no_reply',
] as const;

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
/** One character: ASCII, any code point, a lone surrogate, or a JSON-significant one. */
const character = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: fc.constantFrom('"', '\\', '\u0000', '\n', '\u2028', '[', '{', ']', '}', ',') },
);
/** Short text of any characters. */
export const text = (maxLength = 24): fc.Arbitrary<string> => fc.string({ unit: character, maxLength });

/** Sizes around the server's limits: names of 255/256 characters, payloads near 64 KiB. */
const bigString = fc.constantFrom(255, 256, 2047, 2049, 10_000, 65_000, 66_000).map((n) => 'x'.repeat(n));
/** Arrays and objects nested `depth` deep (the server's limit is 32). */
const nested = fc.integer({ min: 1, max: 40 }).map((depth) => {
  let value: unknown = {};
  for (let i = 1; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
});

/** Any JSON value, small. */
const json = fc.jsonValue({ maxDepth: 3 });
/** Anything an element could be: JSON of every type, unicode, deep nesting, now and then a big string. */
const anyElement = fc.oneof(
  { weight: 8, arbitrary: json },
  { weight: 4, arbitrary: text() },
  { weight: 2, arbitrary: nested },
  { weight: 2, arbitrary: fc.constantFrom(null, true, 0, -1, 1.5, '', [], {}) },
  { weight: 1, arbitrary: bigString },
);

const seq = fc.oneof(fc.integer({ min: -2, max: 50 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 60, 1.5, '3', null));
const member = fc.oneof(text(12), fc.constantFrom('', 'x', null, 7));
/** Payloads shaped for each event, often right and often subtly wrong. */
const shaped: Record<string, fc.Arbitrary<unknown>> = {
  phx_join: fc.dictionary(text(8), json, { maxKeys: 3 }),
  'plume:history': fc.record({ epoch: fc.oneof(text(10), fc.constant('?')), from: seq, to: seq }, { requiredKeys: [] }),
  'plume:presence': fc.dictionary(text(8), fc.oneof({ weight: 9, arbitrary: json }, { weight: 1, arbitrary: fc.constant('p'.repeat(3000)) }), { maxKeys: 4 }),
  'plume:signal': fc.record({ to: member, signal: fc.oneof({ weight: 5, arbitrary: json }, { weight: 5, arbitrary: fc.record({ type: fc.constantFrom('offer', 'answer', 'candidate'), sdp: text(40) }) }, { weight: 1, arbitrary: fc.constant({ sdp: 's'.repeat(17_000) }) }) }, { requiredKeys: [] }),
  'plume:link': fc.record({ peer: member, up: fc.oneof(fc.boolean(), json) }, { requiredKeys: [] }),
  'plume:report': fc.record({ peer: member, reason: fc.oneof(text(20), json) }, { requiredKeys: [] }),
  'plume:ephemeral': fc.record({ event: fc.oneof(fc.constantFrom('typing', 'plume:x', 'phx_x', ''), text(8)), payload: fc.oneof(json, fc.dictionary(text(4), json, { maxKeys: 2 })), eid: fc.oneof(text(12), fc.constant('e'.repeat(300)), json) }, { requiredKeys: [] }),
  'plume:token': fc.record({ token: fc.oneof(text(40), fc.constantFrom('', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.'), json) }, { requiredKeys: [] }),
};

/** The payload element: shaped for the event, an object of anything, or any value at all. */
function payloadFor(event: unknown): fc.Arbitrary<unknown> {
  // Own keys only: a generated event may well be "constructor" or "toString".
  const specific = typeof event === 'string' && Object.hasOwn(shaped, event) ? shaped[event] : undefined;
  return fc.oneof(
    { weight: specific ? 5 : 0, arbitrary: specific ?? fc.constant({}) },
    { weight: 3, arbitrary: fc.dictionary(text(8), fc.oneof(json, text(), nested), { maxKeys: 4 }) },
    { weight: 2, arbitrary: anyElement },
  );
}

/** The sixth element: message ids (valid, empty, too long, wrong type), join meta (since, history, mesh), or not an object. */
const meta = fc.oneof(
  { weight: 6, arbitrary: fc.record({ id: fc.oneof(text(20).map((s) => `id-${s}`), fc.constantFrom('', 'x'.repeat(129)), json) }) },
  { weight: 4, arbitrary: fc.record({ since: fc.oneof(fc.record({ epoch: text(8), seq }), json), history: seq, mesh: fc.oneof(fc.boolean(), json) }, { requiredKeys: [] }) },
  { weight: 2, arbitrary: fc.dictionary(text(6), json, { maxKeys: 3 }) },
  { weight: 1, arbitrary: anyElement },
);

// Mutations that close the socket are kept to about one frame in eight in all: each close costs a
// new connection, and frames on a long-lived socket reach deeper into channel state.
const joinRef = fc.oneof(
  { weight: 60, arbitrary: fc.constantFrom<string | null>(...JOIN_REFS, null) },
  { weight: 5, arbitrary: text(8) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant({}), fc.constant([]), fc.boolean()) },
);
const topic = fc.oneof(
  { weight: 64, arbitrary: fc.constantFrom(...TOPICS) },
  { weight: 8, arbitrary: text(20).map((s) => `room:${s}`) },
  { weight: 1, arbitrary: fc.constantFrom('', 'r'.repeat(256), 'room:' + 'r'.repeat(250), 'room:' + 'r'.repeat(249)) },
  { weight: 1, arbitrary: json },
);
const event = fc.oneof(
  { weight: 80, arbitrary: fc.constantFrom(...EVENTS) },
  { weight: 4, arbitrary: text(20) },
  { weight: 1, arbitrary: fc.constantFrom('', 'e'.repeat(256), 'e'.repeat(255)) },
  { weight: 1, arbitrary: json },
);
/** The ref: a string (the driver puts a unique prefix on it), or null, or another type. */
const ref = fc.oneof(
  { weight: 120, arbitrary: text(12).map((suffix) => ({ valid: true as const, suffix })) },
  { weight: 1, arbitrary: fc.constantFrom(null, 7, {}, [], true).map((value) => ({ valid: false as const, value })) },
);

/** A JSON array frame: five elements, six with meta, or another length. */
const arrayFrame: fc.Arbitrary<FuzzFrame> = fc
  .record({ joinRef, ref, topic, event, withMeta: fc.noBias(fc.integer({ min: 0, max: 7 })), extra: fc.array(anyElement, { maxLength: 3 }), length: fc.noBias(fc.integer({ min: 0, max: 120 })) })
  .chain(({ joinRef: j, ref: r, topic: t, event: e, withMeta, extra, length }) =>
    fc.tuple(payloadFor(e), meta).map(([payload, m]) => {
      const elements: unknown[] = [j, r.valid ? r.suffix : r.value, t, e, payload];
      if (withMeta === 0) elements.push(m);
      // About one frame in sixty has a wrong number of elements.
      if (length === 0) elements.length = extra.length;
      else if (length === 1) elements.push(m, ...extra, {});
      return { kind: 'array' as const, elements, refIndexValid: r.valid };
    }),
  );

/** Text that is not a frame array: other JSON, broken JSON, anything. */
const textFrame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null'),
  text(60),
  fc.constantFrom('[', '[null,"1","phoenix","heartbeat",{}', '[null,"1","phoenix","heartbeat",{}]]', '["\\ud800","1"', '[' .repeat(10_000), ''),
).map((value) => ({ kind: 'text' as const, text: value }));

/** Raw bytes: as a text frame (often invalid UTF-8) or as a binary frame. */
const bytesFrame: fc.Arbitrary<FuzzFrame> = fc
  .record({ bytes: fc.uint8Array({ maxLength: 64 }), binary: fc.boolean() })
  .map(({ bytes, binary }) => ({ kind: 'bytes' as const, bytes, binary }));

/** One inbound frame, of any kind, mostly arrays. */
export const frame: fc.Arbitrary<FuzzFrame> = fc.oneof(
  { weight: 120, arbitrary: arrayFrame },
  { weight: 1, arbitrary: textFrame },
  { weight: 1, arbitrary: bytesFrame },
);

/**
 * True when PROTOCOL.md §2 and §5 require a reply, never a close: a text frame of five elements
 * (six, with an object meta, on a Plume socket), a string or null join ref, a string ref, topic and
 * event non-empty strings of at most 255 characters, and within `maxPayloadBytes`.
 */
export function wellFormed(elements: unknown[], plume: boolean, bytes: number, maxPayloadBytes: number): boolean {
  const [joinRef, ref, topic, event, , meta] = elements;
  const name = (value: unknown) => typeof value === 'string' && value.length > 0 && value.length <= 255;
  const lengthOk = elements.length === 5 || (plume && elements.length === 6 && typeof meta === 'object' && meta !== null && !Array.isArray(meta));
  return lengthOk && (joinRef === null || typeof joinRef === 'string') && typeof ref === 'string' && name(topic) && name(event) && bytes <= maxPayloadBytes;
}
