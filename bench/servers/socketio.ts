/**
 * Socket.IO 4.8 under test, used as its documentation recommends for rooms:
 * `socket.join(room)` on a `join` event (acknowledged), and
 * `io.to(room).emit('msg', data)` on a `pub` event. WebSocket transport
 * only and no compression, like the others.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { portArgument, serveControl } from './control';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
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
