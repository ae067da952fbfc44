/**
 * The three contenders as the load generator sees them: which server entry
 * to start, and how a client joins a room, publishes, and recognises a
 * delivery, in each one's own wire protocol. Every contender is driven by
 * the same raw client (`wsclient.mjs`); only these few strings differ.
 *
 * Socket.IO is spoken directly (Engine.IO v4 over WebSocket: `40` to
 * connect the main namespace, `42[...]` events, `43` acks, `2`/`3` pings)
 * instead of through socket.io-client, so that the load side costs the same
 * for all three.
 */

/** @typedef {[send: string, until: (text: string) => boolean]} Step one frame to send, then wait for a matching answer */

/**
 * @typedef {object} Contender
 * @property {string} name
 * @property {string} entry server entry, relative to bench/servers
 * @property {string} path the socket URL path
 * @property {(room: string) => Step[]} join the steps of a member joining `room`
 * @property {Step[]} publisher the steps that make a socket ready to publish
 * @property {(room: string, dataJson: string) => string} publish the frame that publishes `dataJson` to `room`
 * @property {string} marker bytes near the start of a delivery's frame (`msg` event), and of no other frame
 * @property {(text: string) => string | null} answer a reply the client owes for a short control frame (pings), or null
 */

let ref = 0;
const okReply = (text) => text.includes('"phx_reply"') && text.includes('"status":"ok"');

/** @type {Record<string, Contender>} */
export const CONTENDERS = {
  plume: {
    name: 'plume',
    entry: 'plume.ts',
    path: '/socket/websocket?vsn=2.0.0&plume=1&name=bench',
    join: (room) => [[`["1","1","${room}","phx_join",{}]`, okReply]],
    publisher: [['["p","p","pub","phx_join",{}]', okReply]],
    publish: (room, dataJson) => `["p","${++ref}","pub","pub",{"room":"${room}","data":${dataJson}}]`,
    marker: '"msg",{',
    answer: () => null,
  },
  socketio: {
    name: 'socket.io',
    entry: 'socketio.ts',
    path: '/socket.io/?EIO=4&transport=websocket',
    // A namespace must be connected (`40{sid}` back) before events on it are accepted.
    join: (room) => [['40', (text) => text.startsWith('40')], [`420["join","${room}"]`, (text) => text.startsWith('430')]],
    publisher: [['40', (text) => text.startsWith('40')]],
    publish: (room, dataJson) => `42["pub","${room}",${dataJson}]`,
    marker: '42["msg",',
    answer: (text) => (text === '2' ? '3' : null),
  },
  ws: {
    name: 'ws',
    entry: 'ws.ts',
    path: '/',
    join: (room) => [[`["join","${room}"]`, (text) => text === '["joined"]']],
    publisher: [],
    publish: (room, dataJson) => `["pub","${room}",${dataJson}]`,
    marker: '["msg",',
    answer: () => null,
  },
};

/** Contender keys in the order they are run and shown. */
export const ORDER = ['plume', 'socketio', 'ws'];
