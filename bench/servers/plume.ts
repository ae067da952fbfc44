/**
 * Plume under test, through its public API, configured like the other
 * contenders: members join `room:*` through a channel that accepts any join
 * (the same job as Socket.IO's `socket.join` and the baseline's sets), and
 * a `pub` channel broadcasts each push `{room, data}` to its room with
 * `server.broadcast` (no reply), as an app's server code would.
 *
 * `--relay` keeps the default relay channel on `room:*` instead, which also
 * tracks every member in presence: the bench reports its memory separately.
 * `--mesh off` starts it with `mesh: false`, so nothing is ever signed (the
 * signing-cost part of `npm run bench:mesh` compares the two);
 * `--mesh-min-relayed N` sets `mesh.minRelayed` (the part's pure signing
 * cost relays to a single member). `--api-key K` turns the HTTP API on, with
 * its rate limit off (the HTTP publish part of `npm run bench`).
 *
 * For `npm run bench:cluster`: `--redis <url>` uses the Redis engine
 * (`--node-id` names the node), and `--no-coalesce` makes every history
 * read ask the engine (no merging of reads in flight, nothing kept), for
 * the recovery storm's comparison (a bench-only switch, see below).
 */
import { PlumeServer, ok, type ChannelHandler } from '../../server/index';
import { CoalescedLog } from '../../server/engine/coalesce';
import type { BroadcastLog } from '../../server/engine/engine';
import { redisEngine } from '../../server/engine/redis/engine';
import { portArgument, serveControl } from './control';

const relay = process.argv.includes('--relay');
const argument = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const meshOff = argument('--mesh') === 'off';
const minRelayed = argument('--mesh-min-relayed');
const redis = argument('--redis');
const apiKey = argument('--api-key');
const server = new PlumeServer({
  logger: false,
  relay,
  mesh: meshOff ? false : minRelayed ? { minRelayed: Number(minRelayed) } : true,
  engine: redis ? redisEngine({ url: redis }) : undefined,
  nodeId: argument('--node-id'),
  ...(apiKey ? { apiKey, apiRateLimit: false } : {}),
});
if (process.argv.includes('--no-coalesce')) {
  // Bench-only: joins and history pages read through the engine's log wrapped in CoalescedLog, which
  // the server hands to its channels when it is made (so replacing `server.history` afterwards, as
  // this switch once did, changed nothing); its reads pass straight through instead (nothing merged
  // or kept).
  const merging = CoalescedLog.prototype as unknown as { log: BroadcastLog; window: BroadcastLog['window']; read: BroadcastLog['read'] };
  merging.window = function (this: { log: BroadcastLog }, topic) { return this.log.window(topic); };
  merging.read = function (this: { log: BroadcastLog }, topic, from, to, limit) { return this.log.read(topic, from, to, limit); };
}
if (!relay) server.channel('room:*', { join: () => ok() });
let failed = 0;
const publish: ChannelHandler = {
  handleIn(_event, payload) {
    server.broadcast(String(payload.room), 'msg', payload.data as Record<string, unknown>).catch((error: unknown) => {
      // Counted and shown once: the load generator then finds deliveries missing and marks the run.
      if (failed++ === 0) process.stderr.write(`broadcast failed: ${String(error)}\n`);
    });
  },
};
server.channel('pub', publish);
const { port } = await server.listen(portArgument(), '127.0.0.1');
serveControl(port);
