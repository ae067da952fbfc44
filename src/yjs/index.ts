/**
 * Shared room state with Yjs, a separate entry point (`plume/yjs`) so the
 * core client stays small: bind a `Y.Doc` to a channel and every member
 * edits the same document, at once and offline (PROTOCOL.md §11).
 *
 * @example
 * import * as Y from 'yjs';
 * import { Socket } from 'plume';
 * import { bindDoc } from 'plume/yjs';
 * const socket = new Socket('/socket', { params: { name: 'Ada' } });
 * socket.connect();
 * const room = socket.channel('room:notes');
 * const { doc, synced } = bindDoc(room, new Y.Doc());
 * room.join();
 * await synced;
 * doc.getText('body').insert(0, 'Shared notes');
 *
 * The same document is served to unmodified y-websocket providers at
 * `ws(s)://host/yjs/<room>` (`tokenProtocols` carries a token there).
 */
export { bindDoc, DocBinding, type DocOptions, type DocStatus } from './binding';
export { AWARENESS_EVENT, Awareness } from './awareness';
export { DOC_EVENT } from './sync';
export { tokenProtocols } from './y-websocket';
