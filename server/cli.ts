/**
 * The `plume` server command: `npx plume serve --port 4000` from the
 * package (its `bin`), `npm run server -- --port 4000` in this repository.
 * Reads flags and environment, starts a PlumeServer with the default relay
 * channel, prints where it listens, and shuts down gracefully on
 * SIGINT/SIGTERM (stop accepting, close sockets with 1001, exit).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DevModeError } from './auth/dev-mode';
import type { PublicKeyInput } from './auth/verifier';
import { createLogger, resolveLogFormat, resolveLogLevel } from './logging/format';
import { VERSION } from './version';
import type { ServerOptions } from './options';
import { installSafetyNet } from './safety-net';
import { redisEngine } from './engine/redis/engine';
import { PlumeServer } from './server';

const HELP = `Usage: plume serve [options]        (in this repository: npm run server -- [options])

  --port <n>                 port to listen on (env PORT; default 4000; 0 picks a free one)
  --host <addr>              address to bind (env HOST; default 127.0.0.1)
  --secret <s>               HS256 token secret (env PLUME_SECRET)
  --public-key <key>         RS256/ES256/EdDSA public key: PEM text, JWK JSON, a JSON array of them,
                             or a file holding one of those (env PLUME_PUBLIC_KEY)
  --jwks-url <url>           JWK Set to verify tokens with, cached and refetched for new kids (env PLUME_JWKS_URL)
  --issuer <iss>             tokens must carry this iss; comma-separated for several (env PLUME_ISSUER)
  --audience <aud>           tokens must carry this aud; comma-separated for several (env PLUME_AUDIENCE)
  --clock-tolerance <s>      leeway for exp and nbf, in seconds (env PLUME_CLOCK_TOLERANCE; default 5)
  --allow-query-token        also accept a token in the URL's query (env PLUME_ALLOW_QUERY_TOKEN=1; default off)
  --dev                      with none of secret, public key or JWKS, serve in dev mode (no tokens,
                             the name param is the identity) even on a non-loopback --host (env PLUME_DEV=1);
                             without it dev mode serves on loopback only
  --origin <url>             allow browser sockets from this origin, scheme included (https://app.example);
                             repeatable or comma-separated (env PLUME_ALLOWED_ORIGINS; "*" allows any;
                             in dev mode a page on the same loopback origin is allowed too)
  --static <dir>             serve a built app from this folder
  --heartbeat-timeout <ms>   close sockets silent this long (default 60000)
  --history-limit <n>        broadcasts kept per topic for recovery (env PLUME_HISTORY_LIMIT; default 1000)
  --max-connections <n>      sockets held at once; more are answered HTTP 503 (env PLUME_MAX_CONNECTIONS; default 100000)
  --max-connections-per-ip <n>
                             sockets one address may hold; more are answered HTTP 429 (env PLUME_MAX_CONNECTIONS_PER_IP;
                             default 0, off: behind a proxy every client has the proxy's address)
  --no-relay                 do not register the default relay channel on room:*
  --no-mesh                  turn off peer-assisted fan-out (clients then get every broadcast directly)
  --mesh-min-relayed <n>     relay a room's broadcasts only once the plan reaches n members through peers (default 4)
  --no-long-poll             do not serve /socket/longpoll (clients behind proxies that block WebSockets then cannot
                             connect; env PLUME_LONG_POLL=0)
  --long-poll-window <ms>    how long a long-poll request waits for frames before it is answered empty; a session
                             silent for twice this is ended (env PLUME_LONG_POLL_WINDOW_MS; default 10000)
  --write-delay <ms>         let a WebSocket's frames wait up to this long to be written together: fewer system calls
                             per delivery for that much latency at most (env PLUME_WRITE_DELAY_MS; default 0)
  --redis <url>              keep order, history, dedupe and presence in Redis, for several nodes and restarts
                             (env REDIS_URL; e.g. redis://127.0.0.1:6379; default: in memory)
  --redis-prefix <p>         prefix of every Redis key and channel (env PLUME_REDIS_PREFIX; default plume)
  --node-id <id>             this node's name, unique among the nodes on one Redis (env PLUME_NODE_ID; default random)
  --api-key <key>            turn on the HTTP API (/api/*) for requests with "Authorization: Bearer <key>"; /metrics
                             then asks for it too (env PLUME_API_KEY; at least 16 characters; default: no API)
  --metrics-port <n>         serve /metrics on this port, with no key, instead of the server's (env PLUME_METRICS_PORT)
  --log-format <f>           pretty ([plume] lines) or json (one object per line) (env PLUME_LOG_FORMAT;
                             default: pretty in a terminal, json otherwise)
  --log-level <l>            debug, info, warn or error (env PLUME_LOG_LEVEL; default info)
  -v, --version              print the version
  -h, --help                 show this help`;

/** A number from a flag or its environment variable, or undefined for the default. */
function numberOption(flag: string | undefined, env: string | undefined): number | undefined {
  const value = flag ?? env;
  return value === undefined || value === '' ? undefined : Number(value);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      secret: { type: 'string' },
      'public-key': { type: 'string' },
      'jwks-url': { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      'clock-tolerance': { type: 'string' },
      'allow-query-token': { type: 'boolean' },
      dev: { type: 'boolean' },
      origin: { type: 'string', multiple: true },
      static: { type: 'string' },
      'heartbeat-timeout': { type: 'string' },
      'history-limit': { type: 'string' },
      'max-connections': { type: 'string' },
      'max-connections-per-ip': { type: 'string' },
      'no-relay': { type: 'boolean' },
      'no-mesh': { type: 'boolean' },
      'mesh-min-relayed': { type: 'string' },
      'no-long-poll': { type: 'boolean' },
      'long-poll-window': { type: 'string' },
      'write-delay': { type: 'string' },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string' },
      'node-id': { type: 'string' },
      'api-key': { type: 'string' },
      'metrics-port': { type: 'string' },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (values.version) {
    console.log(VERSION);
    return;
  }
  // `plume serve [options]`; `serve` is the only command, and may be left out.
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'serve')) throw new Error(`unknown command "${positionals.join(' ')}": the command is "plume serve [options]"`);
  const log = await createLogger(resolveLogFormat(values['log-format'], process.env.PLUME_LOG_FORMAT, process.stdout.isTTY === true), resolveLogLevel(values['log-level'], process.env.PLUME_LOG_LEVEL), values['node-id'] ?? process.env.PLUME_NODE_ID);
  const metricsPort = values['metrics-port'] ?? process.env.PLUME_METRICS_PORT;
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
    ...authOptions(values),
    allowedOrigins: origins,
    staticDir: values.static,
    heartbeatTimeoutMs: values['heartbeat-timeout'] ? Number(values['heartbeat-timeout']) : undefined,
    historyLimit: (values['history-limit'] ?? process.env.PLUME_HISTORY_LIMIT) ? Number(values['history-limit'] ?? process.env.PLUME_HISTORY_LIMIT) : undefined,
    maxConnections: numberOption(values['max-connections'], process.env.PLUME_MAX_CONNECTIONS),
    maxConnectionsPerIp: numberOption(values['max-connections-per-ip'], process.env.PLUME_MAX_CONNECTIONS_PER_IP),
    relay: !values['no-relay'],
    longPoll: !(values['no-long-poll'] || process.env.PLUME_LONG_POLL === '0' || process.env.PLUME_LONG_POLL === 'false'),
    longPollWindowMs: numberOption(values['long-poll-window'], process.env.PLUME_LONG_POLL_WINDOW_MS),
    writeDelayMs: numberOption(values['write-delay'], process.env.PLUME_WRITE_DELAY_MS),
    mesh: values['no-mesh'] ? false : values['mesh-min-relayed'] ? { minRelayed: Number(values['mesh-min-relayed']) } : true,
    apiKey: values['api-key'] ?? (process.env.PLUME_API_KEY || undefined),
    metricsPort: metricsPort ? Number(metricsPort) : undefined,
    logger: log,
  });
  installSafetyNet(log);
  server.listen(port, host).then(
    (address) => {
      const api = server.options.ops.apiKey ? `, HTTP API ${address.url}/api` : '';
      const metrics = server.metricsUrl ?? (server.options.ops.metrics.where === 'main' ? `${address.url}/metrics` : 'off');
      // Tests and scripts wait for this line: "listening on <url>" stays its start in every format.
      log.info(`listening on ${address.url} (socket ${address.socketUrl})${server.options.documents ? `, y-websocket ${address.url.replace(/^http/, 'ws')}/yjs` : ''}, node ${server.options.nodeId}, engine ${server.engine.name}${api}, metrics ${metrics}`, { url: address.url, node: server.options.nodeId, version: VERSION });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info(`${signal}: no new connections; closing sockets (1001) and shutting down`);
        server.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    },
    (err: NodeJS.ErrnoException) => {
      if (err instanceof DevModeError) {
        console.error(`[plume] ${err.message}`);
        return process.exit(1);
      }
      console.error(`[plume] cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use; pick another with --port' : err.message}`);
      process.exit(1);
    },
  );
}

/** A comma-separated list, or undefined when empty. */
function list(value: string | undefined): string[] | undefined {
  const items = (value ?? '').split(',').map((v) => v.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}

function flag(value: boolean | undefined, env: string | undefined): boolean {
  return value === true || ['1', 'true', 'yes'].includes((env ?? '').toLowerCase());
}

/** `--public-key`: PEM or JWK JSON (or a JSON array of them) given inline, or the path of a file holding it. */
function readPublicKey(value: string | undefined): PublicKeyInput | PublicKeyInput[] | undefined {
  if (!value) return undefined;
  const text = value.includes('-----BEGIN') || value.trimStart().startsWith('{') || value.trimStart().startsWith('[') ? value : readKeyFile(value);
  if (text.includes('-----BEGIN')) return text;
  try {
    return JSON.parse(text) as PublicKeyInput | PublicKeyInput[];
  } catch (cause) {
    throw new Error('--public-key must be PEM text, JWK JSON, a JSON array of JWKs, or a file holding one of those', { cause });
  }
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new Error(`--public-key: cannot read the file "${path}" (${(cause as Error).message}); pass PEM text, JWK JSON or a readable file`, { cause });
  }
}

/** Authentication flags and their environment variables. */
function authOptions(values: Record<string, string | boolean | string[] | undefined>): ServerOptions {
  const text = (key: string, env: string): string | undefined => (values[key] as string | undefined) ?? process.env[env];
  const tolerance = text('clock-tolerance', 'PLUME_CLOCK_TOLERANCE');
  if (tolerance !== undefined && !(Number(tolerance) >= 0)) throw new Error(`--clock-tolerance must be a number of seconds, 0 or more, got ${tolerance}`);
  return {
    secret: text('secret', 'PLUME_SECRET'),
    publicKey: readPublicKey(text('public-key', 'PLUME_PUBLIC_KEY')),
    jwksUrl: text('jwks-url', 'PLUME_JWKS_URL'),
    issuer: list(text('issuer', 'PLUME_ISSUER')),
    audience: list(text('audience', 'PLUME_AUDIENCE')),
    clockToleranceSec: tolerance === undefined ? undefined : Number(tolerance),
    allowQueryToken: flag(values['allow-query-token'] as boolean | undefined, process.env.PLUME_ALLOW_QUERY_TOKEN),
    dev: flag(values.dev as boolean | undefined, process.env.PLUME_DEV),
  };
}

main().catch((err: unknown) => {
  console.error(`[plume] ${(err as Error).message}\n\n${HELP}`);
  process.exit(2);
});
