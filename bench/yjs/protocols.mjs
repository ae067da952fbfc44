/**
 * The three contenders as the load generator sees them: which server entry
 * to start, which URL a document's socket opens, the frames that start a
 * sync, the frame that carries an update, and how a received binary frame
 * is recognised as an update or as the answer to the sync (the document's
 * state). Each speaks its own wire:
 *
 * - plume: Phoenix V2 frames (PROTOCOL.md §2), `phx_join` on `doc:<name>`,
 *   then `plume:doc` binary pushes (§11): `0x00` + state vector to sync,
 *   `0x02` + update to edit; updates arrive as Plume binary broadcasts
 *   (kind 3) of `0x02` + update, the sync's answer as a binary reply.
 * - y-websocket: y-protocols messages on `/<name>`: `[0, 0, sv]` (sync step 1),
 *   `[0, 2, update]`; the answer is `[0, 1, update]` (sync step 2).
 * - hocuspocus: the same messages prefixed with the document's name (a
 *   varString), after an auth message `[name, 2, 0, token]`; its answer to
 *   step 1 comes as a sync reply (type 4).
 */
import { readVarUint, varBytes, varString } from './varint.mjs';

const EMPTY_STATE_VECTOR = Uint8Array.of(0);
const DOC_EVENT = 'plume:doc';

/** What a received frame is: an update (`onUpdate`), the sync's answer (`onState`), or neither. */
/** @typedef {{ onUpdate(buf: Buffer, start: number, end: number): void, onState(buf: Buffer, start: number, end: number): void }} Sink */

const scratch = [0, 0];

/** A Phoenix V2 binary push (kind 0): `join_ref`, `ref`, `topic`, `event`, payload. */
function plumePush(joinRef, ref, topic, payload) {
  const names = [joinRef, ref, topic, DOC_EVENT].map((s) => Buffer.from(s));
  return Buffer.concat([Buffer.from([0, ...names.map((n) => n.length)]), ...names, payload]);
}

export const CONTENDERS = {
  plume: {
    name: 'plume',
    entry: 'plume.ts',
    path: () => '/socket/websocket?vsn=2.0.0&plume=1',
    topic: (doc) => `doc:${doc}`,
    /** Frames in order; a string step waits for the text reply `ok` to it before going on. */
    hello: (doc) => [`["1","1","doc:${doc}","phx_join",{}]`, plumePush('1', 's', `doc:${doc}`, Buffer.concat([Buffer.from([0x00]), EMPTY_STATE_VECTOR]))],
    update: (doc, update) => plumePush('1', 'u', `doc:${doc}`, Buffer.concat([Buffer.from([0x02]), update])),
    /** Plume sockets are closed after 60 s without a frame: the load generator sends one every 20 s. */
    heartbeat: '[null,"h","phoenix","heartbeat",{}]',
    /** @param {Sink} sink */
    receive(buf, start, end, sink) {
      const kind = buf[start];
      if (kind === 3) {
        const payload = start + 5 + buf[start + 1] + buf[start + 2] + buf.readUInt16BE(start + 3);
        if (buf[payload] === 0x02) sink.onUpdate(buf, payload + 1, end);
      } else if (kind === 1) {
        const response = start + 5 + buf[start + 1] + buf[start + 2] + buf[start + 3] + buf[start + 4];
        if (buf[response] === 0x01) sink.onState(buf, response + 5 + buf.readUInt32BE(response + 1), end);
      }
    },
  },
  ywebsocket: {
    name: 'y-websocket',
    entry: 'y-websocket.ts',
    path: (doc) => `/${doc}`,
    hello: () => [Buffer.from([0, 0, ...varBytes(EMPTY_STATE_VECTOR)])],
    update: (_doc, update) => Buffer.concat([Buffer.from([0, 2]), varBytes(update)]),
    heartbeat: null,
    receive(buf, start, end, sink) {
      if (buf[start] !== 0) return;
      const sub = buf[start + 1];
      if (sub !== 1 && sub !== 2) return;
      const body = readVarUint(buf, start + 2, scratch)[1];
      if (sub === 2) sink.onUpdate(buf, body, end);
      else sink.onState(buf, body, end);
    },
  },
  hocuspocus: {
    name: 'hocuspocus',
    entry: 'hocuspocus.ts',
    path: () => '/',
    hello: (doc) => [
      Buffer.concat([varString(doc), Buffer.from([2, 0]), varString('')]),
      Buffer.concat([varString(doc), Buffer.from([0, 0]), varBytes(EMPTY_STATE_VECTOR)]),
    ],
    update: (doc, update) => Buffer.concat([varString(doc), Buffer.from([0, 2]), varBytes(update)]),
    heartbeat: null,
    receive(buf, start, end, sink) {
      readVarUint(buf, start, scratch);
      const type = buf[scratch[1] + scratch[0]];
      if (type !== 0 && type !== 4) return;
      const at = scratch[1] + scratch[0] + 1;
      const sub = buf[at];
      if (sub !== 1 && sub !== 2) return;
      const body = readVarUint(buf, at + 1, scratch)[1];
      if (sub === 2) sink.onUpdate(buf, body, end);
      else sink.onState(buf, body, end);
    },
  },
};

/**
 * Plume with a shorter history (the last 100 broadcasts per topic instead of 1,000): shown in the
 * idle-memory part only, to show what the history of keystrokes costs beside the document itself.
 */
CONTENDERS.plumeShortHistory = { ...CONTENDERS.plume, name: 'plume, historyLimit: 100', args: ['--history-limit', '100'] };
/** Plume letting frames wait up to 20 ms to be written together (`writeDelayMs`, as Centrifugo's `write_delay`). */
CONTENDERS.plumeWriteDelay = { ...CONTENDERS.plume, name: 'plume, writeDelayMs: 20', args: ['--write-delay', '20'] };

/** Contender keys in the order they run and are shown. */
export const ORDER = ['plume', 'ywebsocket', 'hocuspocus'];
