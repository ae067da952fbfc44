/**
 * The bare `ws` baseline: rooms as sets of sockets; a publish is encoded
 * once and the same string is sent to every member of the room. No
 * protocol beyond `["join", room]` -> `["joined"]` and
 * `["pub", room, data]` -> `["msg", data]` to each member.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { portArgument, serveControl } from './control';

const rooms = new Map<string, Set<WebSocket>>();
const http = createServer();
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  let joined: Set<WebSocket> | undefined;
  ws.on('message', (data) => {
    const [kind, room, payload] = JSON.parse(String(data)) as [string, string, unknown];
    if (kind === 'join') {
      joined?.delete(ws);
      joined = rooms.get(room) ?? new Set();
      rooms.set(room, joined);
      joined.add(ws);
      ws.send('["joined"]');
    } else if (kind === 'pub') {
      const frame = JSON.stringify(['msg', payload]);
      for (const member of rooms.get(room) ?? []) member.send(frame);
    }
  });
  ws.on('close', () => joined?.delete(ws));
});
http.listen(portArgument(), '127.0.0.1', () => {
  const address = http.address();
  serveControl(typeof address === 'object' && address ? address.port : 0);
});
