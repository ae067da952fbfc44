// Type-checked against the emitted declarations (tsc --noEmit): the public API a consumer writes against.
import { CLOSE, Channel, Presence, PlumeError, Socket, type PushResult, type SocketState } from 'plume';
import { durable, type Durable } from 'plume/durable';
import { mesh, type MeshStats } from 'plume/mesh';
import { PlumeServer, memoryEngine, ok, refuse, signToken, type ChannelHandler, type Position, type ServerOptions } from 'plume/server';

const options: ServerOptions = { secret: 'x'.repeat(32), engine: memoryEngine(), apiKey: 'a-long-api-key-0123456789', metricsPort: 9464 };
const server = new PlumeServer(options);
const handler: ChannelHandler = {
  join: (_topic, params) => (params.ok === true ? ok({ hello: 'there' }) : refuse('no')),
  handleIn: (event, payload, socket) => {
    socket.broadcast(event, payload);
    return ok();
  },
};
server.channel('doc:*', handler);
const position: Promise<Position> = server.broadcast('doc:1', 'saved', { at: 1 });
const token: string = signToken({ sub: 'u1', name: 'Ada' }, 'x'.repeat(32), { expiresInSeconds: 60 });

const store: Durable = durable({ name: 'chat' });
const socket = new Socket('/socket', { token, durable: store, mesh: mesh() });
const state: SocketState = socket.state;
const channel: Channel = socket.channel('room:lobby');
const presence = new Presence(channel);
const pushed = channel.push('msg', { body: 'hi' }).receive('ok', (reply) => console.log(reply));
const result: Promise<PushResult> = (async () => await channel.push('msg', {}))();
const stats: MeshStats | null = channel.stats().mesh;
const code: number = CLOSE.goingAway;
const isError = (e: unknown): e is PlumeError => e instanceof PlumeError;

export { position, state, presence, pushed, result, stats, code, isError };
