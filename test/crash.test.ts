/**
 * Frames that used to take the whole server down (issue: hardening, finding
 * 1), sent to the real CLI in a child process, as an attacker would: the
 * process must stay up, answer each with a documented reply or close code,
 * and keep serving everyone else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectRefused } from '../server/auth/connect';
import { closeReason } from '../server/transport/websocket';
import { RawClient, health, useServers } from './helpers';
import { deadline } from './waiting';

const ROOT = join(import.meta.dirname, '..');
const LOBBY = 'room:lobby';
/** Arrays nested this deep parse within 64 KB, and used to make `JSON.stringify` throw a RangeError. */
const DEEP = 15_000;
const nested = `${'['.repeat(DEEP)}${']'.repeat(DEEP)}`;

let child: ChildProcess;
let url = '';
let socketUrl = '';
let output = '';
const clients: RawClient[] = [];

beforeAll(async () => {
  child = spawn(process.execPath, [join(ROOT, 'scripts', 'server.mjs'), '--port', '0', '--host', '127.0.0.1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+) \(socket (ws:\/\/\S+)\)/.exec(output);
      if (match) {
        url = match[1]!;
        socketUrl = match[2]!;
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  await deadline(15_000, 'the server CLI to listen', listening);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  child.kill('SIGKILL');
});

async function connect(name: string, params: Record<string, string> = {}): Promise<RawClient> {
  const client = await RawClient.connect(socketUrl, { name, params });
  clients.push(client);
  return client;
}

/** The process is alive, `/health` answers, and two bystanders still chat. */
async function stillServing(): Promise<void> {
  expect(child.exitCode).toBeNull();
  expect((await health(url)).status).toBe(200);
  const a = await connect('ada');
  const b = await connect('bruno');
  await a.joinOk('room:bystanders');
  const joinRef = await b.joinOk('room:bystanders');
  expect(await b.request('room:bystanders', 'new_msg', { body: 'still here' }, joinRef)).toEqual({ status: 'ok', response: {} });
  expect((await a.next((f) => f.event === 'new_msg')).payload).toEqual({ body: 'still here' });
}

describe('frames that used to crash the server process', () => {
  it.each([
    ['plume:presence from a plain Phoenix socket', {}, 'plume:presence', `{"a":${nested}}`],
    ['plume:presence from a Plume socket', { plume: '1' }, 'plume:presence', `{"a":${nested}}`],
    ['plume:signal', { plume: '1' }, 'plume:signal', `{"to":"x","signal":{"a":${nested}}}`],
    ['the reason of plume:report', { plume: '1' }, 'plume:report', `{"peer":"x","reason":${nested}}`],
    ['plume:ephemeral', { plume: '1' }, 'plume:ephemeral', `{"event":"typing","eid":"e1","payload":{"a":${nested}}}`],
    ['an application event', {}, 'new_msg', `{"a":${nested}}`],
  ])('answers a payload nested 15,000 deep in %s with "payload too deep", and keeps serving', async (_name, params, event, payload) => {
    const mallory = await connect('mallory', params);
    const joinRef = await mallory.joinOk(LOBBY);
    mallory.send(`["${joinRef}","h","${LOBBY}","${event}",${payload}]`);
    expect(await mallory.replyTo('h')).toEqual({ status: 'error', response: { reason: 'payload too deep' } });
    await mallory.heartbeat();
    await stillServing();
  });

  it('answers a frame over maxPayloadBytes with "payload too large" without parsing it', async () => {
    const mallory = await connect('mallory');
    const joinRef = await mallory.joinOk(LOBBY);
    // 900 KB of nesting: far deeper than the parser's stack, so parsing it first would close the socket instead.
    const depth = 450_000;
    mallory.send(`["${joinRef}","h","${LOBBY}","new_msg",{"a":${'['.repeat(depth)}${']'.repeat(depth)}}]`);
    expect(await mallory.replyTo('h')).toEqual({ status: 'error', response: { reason: 'payload too large' } });
    await stillServing();
  });
});

describe('the guard around every inbound frame', () => {
  const start = useServers();

  it('closes only the offending socket with 1011 when handling its frame throws, and logs it', async () => {
    const errors: string[] = [];
    const t = await start({ logger: { info() {}, warn() {}, error: (message) => errors.push(message) } }, (server) => {
      // A bug nobody foresaw, in a path that no channel guard covers.
      server.presence.clientUpdate = () => {
        throw new Error('unforeseen');
      };
    });
    const bystander = await t.connect({ name: 'ada' });
    const bystanderJoin = await bystander.joinOk(LOBBY);
    const mallory = await t.connect({ name: 'mallory' });
    const joinRef = await mallory.joinOk(LOBBY);
    mallory.push(LOBBY, 'plume:presence', { typing: true }, joinRef);
    expect(await mallory.closeEvent()).toEqual({ code: 1011, reason: 'internal error' });
    expect(errors.some((e) => e.includes('a frame from socket'))).toBe(true);
    expect(await bystander.request(LOBBY, 'new_msg', { body: 'fine' }, bystanderJoin)).toEqual({ status: 'ok', response: {} });
  });

  it('refuses a socket with a connect hook reason in any script, cut between characters within 123 bytes', async () => {
    const t = await start({}, (server) => server.onConnect(({ params }) => {
      if (params.name === 'mallory') throw new ConnectRefused(`Zugriff verweigert: ${'ü'.repeat(80)} 日本語`);
    }));
    const refused = await t.connect({ name: 'mallory' });
    const { code, reason } = await refused.closeEvent();
    expect(code).toBe(4403);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).toBe(`Zugriff verweigert: ${'ü'.repeat(51)}`);
    const accepted = await t.connect({ name: 'bruno' });
    await accepted.heartbeat();
  });
});

describe('closeReason', () => {
  it('keeps a reason that fits, and cuts a longer one at a character boundary', () => {
    expect(closeReason('slow consumer')).toBe('slow consumer');
    const cut = closeReason('日'.repeat(60));
    expect(cut).toBe('日'.repeat(41));
    expect(Buffer.byteLength(cut)).toBe(123);
    expect(closeReason('😀'.repeat(40))).toBe('😀'.repeat(30));
  });
});
