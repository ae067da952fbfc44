/**
 * Plume server nodes as real processes (`node scripts/server.mjs`), for
 * tests of several nodes on one Redis: started on a port of their own,
 * killed (SIGKILL: no goodbye to the other nodes) or stopped (SIGTERM:
 * graceful), and started again on the same port.
 *
 * Responsible for the processes' lives and for reading where they listen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './redis-server';

const ROOT = join(import.meta.dirname, '..');

/**
 * @example
 * const a = await NodeProcess.start({ redis: redis.url, nodeId: 'a' });
 * await a.kill(); await a.restart();
 */
export class NodeProcess {
  private child: ChildProcess | null = null;
  /** Everything the process printed, across restarts. */
  output = '';

  private constructor(readonly port: number, private readonly args: string[]) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(options: { redis: string; nodeId: string; port?: number; args?: string[] }): Promise<NodeProcess> {
    const port = options.port ?? (await freePort());
    const node = new NodeProcess(port, ['--redis', options.redis, '--node-id', options.nodeId, ...(options.args ?? [])]);
    await node.launch();
    return node;
  }

  /** Kills it without warning (the other nodes hear nothing from it). */
  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }

  /** Stops it: SIGTERM shuts down gracefully (sockets closed with 1001, presences handed over). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Starts it again on the same port, as the same node. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  private launch(): Promise<void> {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'server.mjs'), '--port', String(this.port), '--host', '127.0.0.1', ...this.args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PLUME_SECRET: '' },
    });
    this.child = child;
    let seen = '';
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node on ${this.port} did not listen within 20 s:\n${seen}`)), 20_000);
      const read = (chunk: Buffer) => {
        const text = chunk.toString();
        seen += text;
        this.output += text;
        if (/listening on /.test(seen)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`node on ${this.port} exited (${code ?? signal}) before listening:\n${seen}`));
      });
    });
  }
}
