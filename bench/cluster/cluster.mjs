/**
 * A cluster under test: a `redis-server` of its own (none for Plume's memory
 * engine) and one or more server nodes of one contender on it, every
 * process pinned to the servers' core. Seen by the load generator
 * (`bench/lib/load.mjs`) as one server: `port` is node A's (where
 * publishers connect), and `cpuSplit()` sums the CPU time of every process,
 * with each process's own reading under `parts` so a window can be split.
 *
 * Not responsible for load or for reporting.
 */
import { readFileSync } from 'node:fs';
import { connectMembers } from '../lib/load.mjs';
import { startRedis } from '../lib/redis.mjs';
import { startServer } from '../lib/servers.mjs';

/**
 * Starts `nodes` (names, the first is A) of `contender` on one Redis, or one node on the memory
 * engine when `engine` is `'memory'` (Plume only).
 * @example const c = await startCluster({ file, contender: 'plume', nodes: ['a', 'b'], pinned: true }); … await c.stop();
 */
export async function startCluster({ file, contender, nodes, engine = 'redis', pinned, redisCore = 0, extra = [] }) {
  if (engine === 'memory' && (contender !== 'plume' || nodes.length !== 1)) throw new Error('the memory engine serves one Plume node only');
  const redis = engine === 'redis' ? await startRedis({ pinned, core: redisCore }) : null;
  const started = {};
  const launch = (name) => {
    const args = ['--expose-gc', file, '--port', '0', ...extra];
    if (redis) args.push('--redis', redis.url);
    if (redis && contender === 'plume') args.push('--node-id', name);
    return startServer(process.execPath, args, { pinned });
  };
  try {
    for (const name of nodes) started[name] = await launch(name);
  } catch (error) {
    await Promise.all(Object.values(started).map((node) => node.stop()));
    await redis?.stop();
    throw error;
  }
  const [first] = nodes;
  const readings = async () => {
    const entries = Object.entries(started).map(async ([name, node]) => [name, { ...(await node.cpuSplit()), writes: writeCalls(node.pid) }]);
    if (redis) entries.push(redis.cpuSplit().then((cpu) => ['redis', { ...cpu, writes: writeCalls(redis.pid) }]));
    return Object.fromEntries(await Promise.all(entries));
  };
  const server = {
    port: started[first].port,
    /** Every process's CPU time so far, summed, with each process's under `parts`. */
    async cpuSplit() {
      const parts = await readings();
      const sum = (key) => Object.values(parts).reduce((total, cpu) => total + cpu[key], 0);
      return { user: sum('user'), system: sum('system'), faults: sum('faults'), parts };
    },
    async cpu() {
      const { user, system } = await this.cpuSplit();
      return user + system;
    },
  };
  return {
    redis,
    nodes: started,
    server,
    /** Kills a node (SIGKILL: nothing is closed cleanly). */
    kill: (name) => started[name].stop(),
    /** Starts a killed node again under the same name (on a new port); resolves with it. */
    async restart(name) {
      await started[name].stop();
      started[name] = await launch(name);
      return started[name];
    },
    async stop() {
      await Promise.all(Object.values(started).map((node) => node.stop()));
      await redis?.stop();
    },
  };
}

/**
 * The write system calls a process made so far (`syscw` of /proc/<pid>/io; NaN where there is
 * none): a server that coalesces its frames per socket makes fewer of them per broadcast.
 */
function writeCalls(pid) {
  try {
    return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
  } catch {
    // Not Linux, or the process is gone: the figure is shown as n/a.
    return NaN;
  }
}

/**
 * A fan-out `members` hook (see `fanout` in bench/lib/load.mjs) that connects the members to
 * `port` (another node than the publishers').
 */
export function membersOn(contender, port, { rooms, perRoom }) {
  return async (_publisherPort, onDelivery) => ({
    sockets: await connectMembers(contender, port, { rooms, perRoom, onDelivery }),
    deliveries: Array.from({ length: rooms }, () => perRoom),
  });
}

/**
 * Each process's CPU share over a fan-out window (`cpuWindow` of its result, whose broadcasts made
 * `perBroadcast` deliveries each), its write calls per broadcast, and the deliveries per
 * CPU-second of the named processes together.
 * @example split(result.cpuWindow, 10) // { shares: { a: 0.41, redis: 0.3 }, writesPerBroadcast: {…}, perCpuSec: (names) => … }
 */
export function split({ seconds, from, to, deliveries }, perBroadcast) {
  const used = {};
  const writes = {};
  for (const [name, end] of Object.entries(to.parts)) {
    const start = from.parts[name];
    used[name] = end.user - start.user + end.system - start.system;
    writes[name] = (end.writes - start.writes) / (deliveries / perBroadcast);
  }
  return {
    shares: Object.fromEntries(Object.entries(used).map(([name, cpu]) => [name, cpu / seconds])),
    /** Write system calls per broadcast, by process. */
    writesPerBroadcast: writes,
    perCpuSec: (names) => deliveries / names.reduce((total, name) => total + (used[name] ?? 0), 0),
  };
}
