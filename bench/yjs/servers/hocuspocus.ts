/**
 * `@hocuspocus/server` 3.4 for `npm run bench:yjs`, with its defaults and no
 * extensions: one `Y.Doc` per document loaded while a connection holds it,
 * every document multiplexed by name over a socket.
 */
import { Server } from '@hocuspocus/server';
import { portArgument, serveControl } from '../../servers/control';

const server = new Server({ port: portArgument(), address: '127.0.0.1', quiet: true, stopOnSignals: false });
await server.listen();
serveControl(server.address.port);
