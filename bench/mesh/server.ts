/**
 * The server of the mesh benchmark's signing-cost part, started as a child
 * process pinned to its own core, like `bench/servers/plume.ts` (the same
 * `room:*` and `pub` channels, the same control protocol) but with the
 * mesh switchable: `--mesh off` starts it with `mesh: false`, so nothing is
 * ever signed.
 */
import { PlumeServer, ok, type ChannelHandler } from '../../server/index';
import { portArgument, serveControl } from '../servers/control';

const meshOff = process.argv.includes('--mesh') && process.argv[process.argv.indexOf('--mesh') + 1] === 'off';
const server = new PlumeServer({ logger: false, relay: false, mesh: !meshOff });
server.channel('room:*', { join: () => ok() });
const publish: ChannelHandler = {
  handleIn(_event, payload) {
    server.broadcast(String(payload.room), 'msg', payload.data as Record<string, unknown>);
  },
};
server.channel('pub', publish);
const { port } = await server.listen(portArgument(), '127.0.0.1');
serveControl(port);
