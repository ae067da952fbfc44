/**
 * Graceful shutdown, in process and through the CLI: the server stops
 * accepting first (new connections refused, `/ready` 503), then closes
 * every socket with 1001 and waits for the close handshakes; the command
 * then exits 0. Also the CLI's operations flags: `serve`, `--version`,
 * `--api-key`, `--log-format json`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PlumeServer } from '../server/server';
import { RawClient, useServers } from './helpers';
import { deadline } from './waiting';

const ROOT = join(import.meta.dirname, '..');
const KEY = 'shutdown-test-key-0123456789';
const start = useServers();
const children: ChildProcess[] = [];
afterEach(() => children.splice(0).forEach((c) => c.kill('SIGKILL')));

/** Resolves true when a TCP connection to `port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('close()', () => {
  it('stops accepting before it closes sockets with 1001, and waits for their close handshakes', async () => {
    const { connect, port } = await start();
    const [ada, bob] = [await connect({ name: 'ada' }), await connect({ name: 'bob' })];
    await ada.joinOk('room:a');
    await bob.joinOk('room:a');
    const server = new PlumeServer({ logger: false });
    const address = await server.listen(0, '127.0.0.1');
    const carl = await RawClient.connect(address.socketUrl, { name: 'carl' });
    // When carl hears the close frame, the port already refuses new connections.
    const refusedAtClose = carl.closed.then(() => refused(address.port));
    const closing = server.close();
    expect(await carl.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await refusedAtClose).toBe(true);
    await closing;
    // The other server is untouched.
    expect((await ada.heartbeat()).payload.status).toBe('ok');
    expect(await refused(port)).toBe(false);
  });

  it('answers /ready with 503 and refuses upgrades while it drains', async () => {
    const { url, server, connect, socketUrl } = await start();
    // A socket that never answers the close frame keeps the drain going.
    const silent = await connect({ name: 'silent' });
    const tcp = (silent as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
    tcp.pause();
    const agent = await fetch(`${url}/ready`, { keepalive: true });
    expect(agent.status).toBe(200);
    const closing = server.close(500);
    const ready = await fetch(`${url}/ready`).then((r) => r.status, () => 'refused');
    expect([503, 'refused']).toContain(ready);
    expect(await RawClient.connect(socketUrl).then(() => 'accepted', () => 'refused')).toBe('refused');
    await closing;
    tcp.resume();
  });
});

/** Runs the CLI (`node scripts/server.mjs …`) with its output captured. */
function cli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'server.mjs'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLUME_SECRET: '', PLUME_API_KEY: '', PLUME_LOG_FORMAT: '', ...env } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = deadline(15_000, 'the CLI to exit', new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))));
  const listening = () => deadline(15_000, 'the CLI to listen', (async () => {
    for (;;) {
      const match = /listening on (http:\/\/[^\s"]+)/.exec(stdout);
      if (match) return match[1]!;
      if (child.exitCode !== null) throw new Error(`the CLI exited:\n${stdout}${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })());
  return { child, exited, listening, output: () => ({ stdout, stderr }) };
}

describe('the plume command', () => {
  it('prints its version, accepts the serve command and refuses another', async () => {
    const version = cli(['--version']);
    expect(await version.exited).toBe(0);
    expect(version.output().stdout.trim()).toBe('0.2.0');
    const bogus = cli(['launch']);
    expect(await bogus.exited).toBe(2);
    expect(bogus.output().stderr).toMatch(/unknown command "launch": the command is "plume serve \[options\]"/);
  });

  it('turns long-poll off with --no-long-poll, and sets its window with PLUME_LONG_POLL_WINDOW_MS', async () => {
    const off = cli(['serve', '--port', '0', '--no-long-poll']);
    const offUrl = await off.listening();
    expect((await fetch(`${offUrl}/socket/longpoll?vsn=2.0.0`)).status).toBe(404);
    const short = cli(['serve', '--port', '0'], { PLUME_LONG_POLL_WINDOW_MS: '300' });
    const url = await short.listening();
    const opened = (await (await fetch(`${url}/socket/longpoll?vsn=2.0.0`)).json()) as { status: number; token: string };
    expect(opened.status).toBe(410);
    // With the default window (10 s) this poll would hang far past the deadline.
    const poll = await deadline(5_000, 'an empty poll answered after the 300 ms window', fetch(`${url}/socket/longpoll?vsn=2.0.0&token=${encodeURIComponent(opened.token)}`));
    expect(((await poll.json()) as { status: number }).status).toBe(204);
  });

  it('lets frames wait up to --write-delay to be written together, and refuses a delay past 1000 ms', async () => {
    const run = cli(['serve', '--port', '0', '--write-delay', '300']);
    const url = await run.listening();
    const client = await RawClient.connect(`${url.replace('http', 'ws')}/socket/websocket`, { name: 'ada' });
    const started = performance.now();
    await client.heartbeat();
    // Answered at once, the reply still waits for the write delay (timers never fire early).
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    await client.dispose();
    const wrong = cli(['serve', '--port', '0'], { PLUME_WRITE_DELAY_MS: '5000' });
    expect(await wrong.exited).toBe(2);
    expect(wrong.output().stderr).toContain('writeDelayMs must be from 0 to 1000, got 5000');
  });

  it('serves the HTTP API with --api-key, logs JSON lines without the key, and on SIGTERM closes sockets with 1001 and exits 0', async () => {
    const run = cli(['serve', '--port', '0', '--api-key', KEY, '--log-format', 'json', '--log-level', 'debug']);
    const url = await run.listening();
    const client = await RawClient.connect(`${url.replace('http', 'ws')}/socket/websocket`, { name: 'ada' });
    await client.joinOk('room:a');
    const res = await fetch(`${url}/api/broadcast`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-request-id': 'req-42' }, body: JSON.stringify({ topic: 'room:a', event: 'notice', payload: { body: 'secret words' } }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-42');
    await client.next((f) => f.event === 'notice');
    expect((await fetch(`${url}/api/topics`)).status).toBe(401);
    run.child.kill('SIGTERM');
    expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(await run.exited).toBe(0);
    const lines = run.output().stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => String(l.msg).startsWith('listening on'))).toMatchObject({ level: 30, url });
    expect(lines.find((l) => l.msg === 'http request')).toMatchObject({ reqId: 'req-42', route: 'broadcast', status: 200 });
    expect(lines.find((l) => l.msg === 'socket opened')).toMatchObject({ socketId: expect.any(String) });
    expect(lines.find((l) => String(l.msg).includes('refused a request without the API key'))).toMatchObject({ level: 40, status: 401 });
    expect(lines.find((l) => String(l.msg).startsWith('SIGTERM'))).toBeDefined();
    expect(run.output().stdout).not.toContain(KEY);
    expect(run.output().stdout).not.toContain('secret words');
    await client.dispose();
  });
});
