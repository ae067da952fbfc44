/**
 * Plume serving Yjs documents for `npm run bench:yjs`, through its public
 * API as an app would: a channel that accepts any join on `doc:*`, and the
 * default shared documents (PROTOCOL.md §11) on every topic, so members sync
 * and edit over `plume:doc`. Every accepted update is stored, compacted and
 * broadcast as in production (ordered, kept in history).
 */
import { PlumeServer, ok } from '../../../server/index';
import { portArgument, serveControl } from '../../servers/control';

const argument = (name: string): number | undefined => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : Number(process.argv[at + 1]);
};
const server = new PlumeServer({ logger: false, historyLimit: argument('--history-limit'), writeDelayMs: argument('--write-delay') });
server.channel('doc:*', { join: () => ok() });
const { port } = await server.listen(portArgument(), '127.0.0.1');
serveControl(port);
