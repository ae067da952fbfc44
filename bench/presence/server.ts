/**
 * The server under test for `npm run bench:presence`: a PlumeServer with the
 * default relay channel (which tracks presence), its coalescing interval
 * from `--coalesce <ms>`, speaking the bench control protocol
 * (`bench/servers/control.ts`).
 */
import { PlumeServer } from '../../server/index';
import { portArgument, serveControl } from '../servers/control';

const index = process.argv.indexOf('--coalesce');
const presenceCoalesceMs = index === -1 ? undefined : Number(process.argv[index + 1]);
const server = new PlumeServer({ logger: false, presenceCoalesceMs });
const { port } = await server.listen(portArgument(), '127.0.0.1');
serveControl(port);
