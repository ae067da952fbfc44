/**
 * `@y/websocket-server` for `npm run bench:yjs`, as its own `server.js`
 * runs it: an HTTP server whose upgrades go to `setupWSConnection`, which
 * keeps one `Y.Doc` per document (named by the URL path) in memory.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { setupWSConnection } from '@y/websocket-server/utils';
import { portArgument, serveControl } from '../../servers/control';

const wss = new WebSocketServer({ noServer: true });
const http = createServer((_req, res) => res.writeHead(200).end('ok'));
wss.on('connection', (conn, req) => setupWSConnection(conn, req));
http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
http.listen(portArgument(), '127.0.0.1', () => serveControl((http.address() as AddressInfo).port));
