/**
 * A real `redis-server` of the test's own, on a free port, with no
 * persistence: tests can stop it, restart it (losing everything, as a
 * Redis without persistence does) or flush it without touching any other
 * Redis on the machine.
 *
 * Responsible for the process's life. Not a Redis client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { locateRedis } from '../scripts/lib/redis.mjs';

/** Resolves with a port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * @example
 * const redis = await RedisServer.start();
 * new PlumeServer({ engine: redisEngine({ url: redis.url }) });
 * await redis.restart(); // everything is lost, as with a Redis without persistence
 * await redis.stop();
 */
export class RedisServer {
  private child: ChildProcess | null = null;

  private constructor(readonly port: number, private readonly binary: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a redis-server on a free port (or `port`). */
  static async start(port?: number): Promise<RedisServer> {
    const binary = process.env.REDIS_SERVER_PATH || locateRedis();
    if (!binary) throw new Error('no redis-server found: install it (sudo apt-get install -y redis-server) or set REDIS_SERVER_PATH; `npm test` installs it on CI');
    const server = new RedisServer(port ?? (await freePort()), binary);
    await server.launch();
    return server;
  }

  /** Stops it (SIGKILL by default: nothing is saved anyway). */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Stops it and starts it again on the same port: empty, as a restarted Redis without persistence. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null;
  }

  private launch(): Promise<void> {
    const child = spawn(this.binary, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let output = '';
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${this.port} within 10 s:\n${output}`)), 10_000);
      const seen = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          child.stdout!.off('data', seen);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`));
      });
    });
  }
}
