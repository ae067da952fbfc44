/**
 * The `plume` server command: `npm run server -- --port 4000 --host 127.0.0.1`.
 * Reads flags and environment, starts a PlumeServer with the default relay
 * channel, prints where it listens, and shuts down gracefully on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { consoleLogger } from './log';
import { installSafetyNet } from './safety-net';
import { redisEngine } from './engine/redis/engine';
import { PlumeServer } from './server';

const HELP = `Usage: npm run server -- [options]

  --port <n>                 port to listen on (env PORT; default 4000; 0 picks a free one)
  --host <addr>              address to bind (env HOST; default 127.0.0.1)
  --secret <s>               token secret (env PLUME_SECRET; unset = dev mode, no tokens)
  --origin <url>             allow browser sockets from this origin; repeatable or comma-separated
                             (env PLUME_ALLOWED_ORIGINS; the server's own origin is always allowed; "*" allows any)
  --static <dir>             serve a built app from this folder
  --heartbeat-timeout <ms>   close sockets silent this long (default 60000)
  --history-limit <n>        broadcasts kept per topic for recovery (env PLUME_HISTORY_LIMIT; default 1000)
  --no-relay                 do not register the default relay channel on room:*
  --no-mesh                  turn off peer-assisted fan-out (clients then get every broadcast directly)
  --mesh-min-relayed <n>     relay a room's broadcasts only once the plan reaches n members through peers (default 4)
  --redis <url>              keep order, history, dedupe and presence in Redis, for several nodes and restarts
                             (env REDIS_URL; e.g. redis://127.0.0.1:6379; default: in memory)
  --redis-prefix <p>         prefix of every Redis key and channel (env PLUME_REDIS_PREFIX; default plume)
  --node-id <id>             this node's name, unique among the nodes on one Redis (env PLUME_NODE_ID; default random)
  -h, --help                 show this help`;

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      secret: { type: 'string' },
      origin: { type: 'string', multiple: true },
      static: { type: 'string' },
      'heartbeat-timeout': { type: 'string' },
      'history-limit': { type: 'string' },
      'no-relay': { type: 'boolean' },
      'no-mesh': { type: 'boolean' },
      'mesh-min-relayed': { type: 'string' },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string' },
      'node-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const port = Number(values.port ?? process.env.PORT ?? 4000);
  const host = values.host ?? process.env.HOST ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer from 0 to 65535, got ${values.port ?? process.env.PORT}`);
  const origins = [...(values.origin ?? []), ...(process.env.PLUME_ALLOWED_ORIGINS ?? '').split(',')]
    .flatMap((o) => o.split(','))
    .map((o) => o.trim())
    .filter(Boolean);
  const redisUrl = values.redis ?? process.env.REDIS_URL;
  const server = new PlumeServer({
    engine: redisUrl ? redisEngine({ url: redisUrl, prefix: values['redis-prefix'] ?? process.env.PLUME_REDIS_PREFIX }) : undefined,
    nodeId: values['node-id'] ?? process.env.PLUME_NODE_ID,
    secret: values.secret ?? process.env.PLUME_SECRET,
    allowedOrigins: origins,
    staticDir: values.static,
    heartbeatTimeoutMs: values['heartbeat-timeout'] ? Number(values['heartbeat-timeout']) : undefined,
    historyLimit: (values['history-limit'] ?? process.env.PLUME_HISTORY_LIMIT) ? Number(values['history-limit'] ?? process.env.PLUME_HISTORY_LIMIT) : undefined,
    relay: !values['no-relay'],
    mesh: values['no-mesh'] ? false : values['mesh-min-relayed'] ? { minRelayed: Number(values['mesh-min-relayed']) } : true,
  });
  installSafetyNet(consoleLogger);
  server.listen(port, host).then(
    (address) => {
      console.log(`[plume] listening on ${address.url} (socket ${address.socketUrl}), node ${server.options.nodeId}, engine ${server.engine.name}`);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`[plume] ${signal}: closing sockets and shutting down`);
        server.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    },
    (err: NodeJS.ErrnoException) => {
      console.error(`[plume] cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use; pick another with --port' : err.message}`);
      process.exit(1);
    },
  );
}

try {
  main();
} catch (err) {
  console.error(`[plume] ${(err as Error).message}\n\n${HELP}`);
  process.exit(2);
}
