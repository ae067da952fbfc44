/**
 * The y-websocket wire codec: what a real provider writes decodes as it
 * meant, what the endpoint writes a provider reads, and no bytes at all
 * make the decoder throw.
 */
import fc from 'fast-check';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as authProtocol from 'y-protocols/auth';
import * as syncProtocol from 'y-protocols/sync';
import { Y_SYNC, awarenessMessage, encodeAwareness, permissionDenied, readAwareness, readMessage, syncMessage } from './y-messages';

/** A message as y-websocket's provider writes it (type, then y-protocols' own encoder). */
function providerMessage(type: number, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

describe('y-websocket messages', () => {
  it('reads sync step 1, step 2 and updates as y-protocols writes them', () => {
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'hi');
    expect(readMessage(providerMessage(0, (e) => syncProtocol.writeSyncStep1(e, doc)))).toEqual({ type: 'step1', stateVector: Y.encodeStateVector(doc) });
    expect(readMessage(providerMessage(0, (e) => syncProtocol.writeSyncStep2(e, doc)))).toEqual({ type: 'update', update: Y.encodeStateAsUpdate(doc), step2: true });
    const update = Y.encodeStateAsUpdate(doc);
    expect(readMessage(providerMessage(0, (e) => syncProtocol.writeUpdate(e, update)))).toEqual({ type: 'update', update, step2: false });
  });

  it('reads an awareness update with its clients, and a query', () => {
    const awareness = new Awareness(new Y.Doc());
    awareness.setLocalStateField('user', { name: 'Yuki' });
    const update = encodeAwarenessUpdate(awareness, [awareness.clientID]);
    const message = readMessage(awarenessMessage(update));
    expect(message).toMatchObject({ type: 'awareness', clients: [{ clientID: awareness.clientID, state: JSON.stringify({ user: { name: 'Yuki' } }) }] });
    expect(readMessage(new Uint8Array([3]))).toEqual({ type: 'queryAwareness' });
    awareness.destroy();
  });

  it('writes what y-protocols reads: sync messages, a permission denied reason, an awareness removal', () => {
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'from the server');
    const decoder = decoding.createDecoder(syncMessage(Y_SYNC.update, Y.encodeStateAsUpdate(doc)));
    expect(decoding.readVarUint(decoder)).toBe(0);
    const replica = new Y.Doc();
    syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), replica, null);
    expect(replica.getText('t').toString()).toBe('from the server');

    const denied = decoding.createDecoder(permissionDenied('read only'));
    expect(decoding.readVarUint(denied)).toBe(2);
    let reason = '';
    authProtocol.readAuthMessage(denied, doc, (_doc, r) => (reason = r));
    expect(reason).toBe('read only');

    const removal = encodeAwareness([{ clientID: 7, clock: 3, state: 'null' }]);
    expect(readAwareness(removal)).toEqual([{ clientID: 7, clock: 3, state: 'null' }]);
  });

  it('never throws on arbitrary bytes: a message, or a reason it is malformed', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const result = readMessage(bytes);
      expect(typeof result === 'string' ? result.startsWith('malformed message') : typeof result.type === 'string').toBe(true);
    }), { numRuns: 2000 });
  });

  it('refuses a message cut short, with bytes after its end, or of an unknown type', () => {
    const whole = syncMessage(Y_SYNC.step1, new Uint8Array([1, 2, 3]));
    expect(readMessage(whole.subarray(0, whole.length - 1))).toBe('malformed message: cut short');
    expect(readMessage(new Uint8Array([...whole, 0]))).toBe('malformed message: bytes after its end');
    expect(readMessage(new Uint8Array([9]))).toBe('malformed message: unknown type 9');
    expect(readMessage(new Uint8Array([0, 5, 0]))).toBe('malformed message: unknown sync step 5');
  });
});
