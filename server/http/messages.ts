/**
 * What `POST /api/broadcast` accepts, checked before anything is applied:
 * one message `{topic, event, payload, id?}` or `{messages: [...]}`.
 * A batch with one bad message is refused whole, naming the message.
 */
import { isPayload, isReservedEvent, type Payload } from '../../src/protocol';
import { ApiError } from './errors';

/** Most messages in one `POST /api/broadcast`. */
export const MAX_BATCH = 100;
/** Longest topic, event and message id accepted. */
const MAX_NAME = 255;
const MAX_ID = 128;

/** A message to broadcast, checked. */
export interface ApiMessage {
  topic: string;
  event: string;
  payload: Payload;
  id?: string;
}

/**
 * The messages of a broadcast request, and whether it was a batch.
 * @example parseBroadcast({ topic: 'room:lobby', event: 'notice', payload: { body: 'hi' } }, 65536)
 */
export function parseBroadcast(body: unknown, maxPayloadBytes: number): { messages: ApiMessage[]; batch: boolean } {
  if (!isPayload(body)) throw new ApiError('invalid_request', 'the body must be a JSON object: {"topic", "event", "payload"} or {"messages": [...]}');
  if (!('messages' in body)) return { messages: [parseMessage(body, '', maxPayloadBytes)], batch: false };
  const list = body.messages;
  if (!Array.isArray(list) || list.length === 0) throw new ApiError('invalid_request', '"messages" must be a non-empty array of {"topic", "event", "payload"}');
  if (list.length > MAX_BATCH) throw new ApiError('invalid_request', `"messages" holds ${list.length} messages; send at most ${MAX_BATCH} per request`);
  return { messages: list.map((m, i) => parseMessage(m, `messages[${i}]: `, maxPayloadBytes)), batch: true };
}

function parseMessage(value: unknown, where: string, maxPayloadBytes: number): ApiMessage {
  if (!isPayload(value)) throw new ApiError('invalid_request', `${where}a message must be an object {"topic", "event", "payload"}`);
  const { topic, event, payload, id } = value;
  if (typeof topic !== 'string' || topic === '' || topic.length > MAX_NAME) throw new ApiError('invalid_request', `${where}"topic" must be a string of 1 to ${MAX_NAME} characters`);
  if (typeof event !== 'string' || event === '' || event.length > MAX_NAME) throw new ApiError('invalid_request', `${where}"event" must be a string of 1 to ${MAX_NAME} characters`);
  if (isReservedEvent(event)) throw new ApiError('invalid_request', `${where}"${event}" is a reserved event name (phx_*, presence_*, plume:*); pick another`);
  if (!isPayload(payload)) throw new ApiError('invalid_request', `${where}"payload" must be a JSON object`);
  if (Buffer.byteLength(JSON.stringify(payload)) > maxPayloadBytes) throw new ApiError('invalid_request', `${where}"payload" is larger than ${maxPayloadBytes} bytes (maxPayloadBytes), the most a socket may push`);
  if (id !== undefined && (typeof id !== 'string' || id === '' || id.length > MAX_ID)) throw new ApiError('invalid_request', `${where}"id" must be a string of 1 to ${MAX_ID} characters when given`);
  const message: ApiMessage = { topic, event, payload };
  if (id !== undefined) message.id = id;
  return message;
}
