/**
 * The server command's authentication flags, against the real CLI in a
 * child process: dev mode refuses a public address (exit 1, with the fix)
 * unless `--dev`; `--secret`, `--public-key` (inline or a file) and their
 * environment variables configure verification.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signToken } from '../server/auth/token';
import { RawClient } from './helpers';
import { keyPair, signWith } from './jwks';
import { deadline } from './waiting';

const ROOT = join(import.meta.dirname, '..');
const children: ChildProcess[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

interface Cli {
  /** Resolves with the socket URL once it listens; rejects if it exits first. */
  listening: Promise<string>;
  /** Resolves with the exit code and everything printed. */
  exited: Promise<{ code: number | null; output: string }>;
}

function cli(args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'server.mjs'), '--port', '0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PLUME_SECRET: '', PLUME_DEV: '', ...env },
  });
  children.push(child);
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.once('exit', (code) => resolve({ code, output })));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /\(socket (ws:\/\/\S+)\)/.exec(output);
      if (match) resolve(match[1]!.replace('0.0.0.0', '127.0.0.1'));
    });
    void exited.then(({ code }) => reject(new Error(`the CLI exited with ${code}:\n${output}`)));
  });
  const listens = deadline(15_000, 'the CLI to listen', listening);
  listens.catch(() => {}); // a test that expects the exit awaits `exited` instead; one that awaits this still sees the rejection
  return { listening: listens, exited: deadline(15_000, 'the CLI to exit', exited) };
}

async function connect(socketUrl: string, token?: string): Promise<RawClient> {
  const client = await RawClient.connect(socketUrl, { name: 'ada', token });
  clients.push(client);
  return client;
}

describe('the server command', () => {
  it('exits 1 in dev mode on a public address, saying how to fix it', async () => {
    const { exited } = cli(['--host', '0.0.0.0']);
    const { code, output } = await exited;
    expect(code).toBe(1);
    expect(output).toMatch(/refusing to serve in dev mode on 0\.0\.0\.0/);
    expect(output).toMatch(/--secret.*--dev/);
  });

  it('serves in dev mode on a public address with --dev, or PLUME_DEV=1', async () => {
    const socketUrl = await cli(['--host', '0.0.0.0', '--dev']).listening;
    expect((await (await connect(socketUrl)).heartbeat()).payload.status).toBe('ok');
    await cli(['--host', '0.0.0.0'], { PLUME_DEV: '1' }).listening;
  });

  it('serves on a public address with PLUME_SECRET, and refuses a socket without a token', async () => {
    const socketUrl = await cli(['--host', '0.0.0.0'], { PLUME_SECRET: 'cli-secret' }).listening;
    expect(await (await connect(socketUrl)).closeEvent()).toEqual({ code: 4401, reason: 'token required' });
    const ada = await connect(socketUrl, signToken({ sub: 'u1' }, 'cli-secret'));
    expect((await ada.heartbeat()).payload.status).toBe('ok');
  });

  it('verifies with --public-key from a file, and checks --issuer', async () => {
    const key = keyPair('EdDSA');
    const file = join(mkdtempSync(join(tmpdir(), 'plume-cli-')), 'key.pem');
    writeFileSync(file, key.publicPem);
    const socketUrl = await cli(['--host', '127.0.0.1', '--public-key', file, '--issuer', 'https://login.example/']).listening;
    const ada = await connect(socketUrl, await signWith(key, { sub: 'u1', iss: 'https://login.example/' }));
    expect((await ada.heartbeat()).payload.status).toBe('ok');
    const other = await connect(socketUrl, await signWith(key, { sub: 'u1', iss: 'https://evil.example/' }));
    expect(await other.closeEvent()).toEqual({ code: 4401, reason: 'token issuer is not accepted' });
  });

  it('takes an inline JWK in PLUME_PUBLIC_KEY', async () => {
    const key = keyPair('ES256');
    const socketUrl = await cli(['--host', '127.0.0.1'], { PLUME_PUBLIC_KEY: JSON.stringify(key.publicJwk) }).listening;
    const ada = await connect(socketUrl, await signWith(key, { sub: 'u1' }));
    expect((await ada.heartbeat()).payload.status).toBe('ok');
  });

  it('exits 2 with the fix when --public-key names a file that is not there', async () => {
    const { code, output } = await cli(['--public-key', '/nonexistent/key.pem']).exited;
    expect(code).toBe(2);
    expect(output).toMatch(/--public-key: cannot read the file "\/nonexistent\/key.pem"/);
  });
});
