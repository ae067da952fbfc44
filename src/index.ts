/**
 * Plume's browser client, core entry: sockets, channels and pushes.
 * Mesh and shared-document code live in their own entry points so this one
 * stays small.
 *
 * @example
 * import { Socket } from 'plume';
 * const socket = new Socket('/socket', { params: { name: 'Ada' } });
 * socket.connect();
 * const room = socket.channel('room:lobby');
 * room.on('new_msg', (msg) => console.log(msg.body));
 * await room.join();
 * await room.push('new_msg', { body: 'hello' });
 */
export { Socket, type SocketState, type StateChange, type SocketStateChange, type TransportKind } from './socket';
export { LongPoll, type LongPollOptions } from './longpoll';
export { Channel, type ChannelState, type MessageInfo, type ChannelOptions } from './channel';
export type { Outbox, OutboxEntry, OutboxStatus } from './outbox/outbox';
export type { Durable } from './durable';
export type { Recovery, Position } from './delivery';
export { Push, type PushResult, type PushStatus } from './push';
export { Presence, syncDiff, syncState, type PresenceEntry, type Presences, type PresenceOptions, type JoinCallback, type LeaveCallback } from './presence';
export { PlumeError, type PlumeErrorCode } from './errors';
export type { SocketOptions, Params, TransportFactory, WebSocketLike } from './options';
export type { Environment, EnvironmentEvent } from './environment';
export type { Clock, BackoffOptions } from './timer';
export type { Unsubscribe } from './listeners';
export { CLOSE, EVENTS, REASONS, type Payload, type Meta, type PresenceMeta, type PresenceState, type PresenceDiff } from './protocol';
