/**
 * Yjs updates as editors make them, generated once per run and replayed to
 * every contender: a few editors (each its own `Y.Doc` with a fixed client
 * id) type into one `Y.Text`, each at its own cursor, and every update is
 * applied to the others' documents before the next is made, as in a live
 * session. Deterministic (a seeded generator), so every contender gets the
 * same bytes.
 *
 * `insertsOnly` keeps to single-character inserts, each editor in its own
 * paragraph of a text that `seed` (an update of its own) holds at first:
 * every update then depends only on the seed and on its editor's earlier
 * ones, so a server that integrates updates (y-websocket, Hocuspocus) can
 * apply each as it arrives, whatever order the editors' sockets are read
 * in, and sends each on alone. Every such update starts with one struct
 * whose (client, clock) names it: the fan-out part finds an update's send
 * time by that pair, which survives a server re-encoding it.
 */
import * as Y from 'yjs';
import { readVarUint } from './varint.mjs';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz     ';

/** A small seeded generator (mulberry32). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` updates made by `editors` editors taking turns; returns them with the final text (and
 * with `insertsOnly`, the seed they start from).
 * @example const { updates, text } = session({ count: 1000, editors: 4 });
 */
export function session({ count, editors = 4, seed = 1, insertsOnly = false }) {
  const next = random(seed);
  const docs = Array.from({ length: editors }, (_, i) => {
    const doc = new Y.Doc();
    doc.clientID = i + 1;
    return doc;
  });
  const cursors = docs.map(() => 0);
  let start = null;
  if (insertsOnly) {
    const origin = new Y.Doc();
    origin.clientID = 1000;
    origin.getText('body').insert(0, '\n'.repeat(editors));
    start = Y.encodeStateAsUpdate(origin);
    for (const doc of docs) Y.applyUpdate(doc, start);
    docs.forEach((_, i) => (cursors[i] = i));
  }
  const updates = [];
  for (let i = 0; i < count; i++) {
    const who = i % editors;
    const text = docs[who].getText('body');
    let update = null;
    const capture = (u) => (update = u);
    docs[who].once('update', capture);
    const roll = next();
    let at;
    let delta = 1;
    if (!insertsOnly && roll < 0.05 && text.length > 0) {
      at = cursors[who] = Math.floor(next() * text.length); // jump elsewhere
      text.insert(cursors[who]++, ALPHABET[Math.floor(next() * ALPHABET.length)]);
    } else if (!insertsOnly && roll < 0.1 && cursors[who] > 0) {
      at = --cursors[who]; // backspace
      delta = -1;
      text.delete(at, 1);
    } else {
      at = cursors[who] = Math.min(cursors[who], text.length);
      text.insert(cursors[who]++, ALPHABET[Math.floor(next() * ALPHABET.length)]);
    }
    for (let j = 0; j < editors; j++) if (j !== who) Y.applyUpdate(docs[j], update);
    updates.push(update);
    // The others' cursors after the change move with it.
    for (let j = 0; j < editors; j++) if (j !== who && (delta > 0 ? cursors[j] >= at : cursors[j] > at)) cursors[j] += delta;
  }
  return { seed: start, updates, text: docs[0].getText('body').toString() };
}

const scratch = [0, 0];

/**
 * The (client, clock) of an update's first struct as one number (client ids here are small), or -1
 * for an update without structs. Reads a range of a buffer.
 */
export function updateKey(buf, start) {
  let pos = readVarUint(buf, start, scratch)[1];
  if (scratch[0] === 0) return -1;
  pos = readVarUint(buf, pos, scratch)[1]; // structs of the first client
  pos = readVarUint(buf, pos, scratch)[1];
  const client = scratch[0];
  readVarUint(buf, pos, scratch);
  return client * 2 ** 32 + scratch[0];
}
