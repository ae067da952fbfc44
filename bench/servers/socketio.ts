/**
 * Socket.IO 4.8 under test, used as its documentation recommends for rooms:
 * `socket.join(room)` on a `join` event (acknowledged), and
 * `io.to(room).emit('msg', data)` on a `pub` event. WebSocket transport
 * only and no compression, like the others.
 *
 * `--redis <url>` (for `npm run bench:cluster`) adds `@socket.io/redis-adapter`
 * with two ioredis clients, as its README shows, so `io.to(room).emit`
 * also reaches the room's members on every other node.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { portArgument, serveControl } from './control';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
const redisAt = process.argv.indexOf('--redis');
if (redisAt !== -1) {
  // Loaded only here: `npm run bench` measures this server's cold start without them.
  const [{ createAdapter }, { Redis }] = await Promise.all([import('@socket.io/redis-adapter'), import('ioredis')]);
  const pub = new Redis(process.argv[redisAt + 1]!);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
}
io.on('connection', (socket) => {
  socket.on('join', (room: string, ack?: () => void) => {
    void socket.join(room);
    if (typeof ack === 'function') ack();
  });
  socket.on('pub', (room: string, data: unknown) => {
    io.to(room).emit('msg', data);
  });
});
http.listen(portArgument(), '127.0.0.1', () => {
  const address = http.address();
  serveControl(typeof address === 'object' && address ? address.port : 0);
});
