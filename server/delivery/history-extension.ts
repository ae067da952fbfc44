/**
 * `plume:history` (PROTOCOL.md §7, filling gaps): a page of a topic's
 * history for a joined Plume member, JSON or (holding bytes) a binary
 * reply, in the channel's frame order.
 */
import { EXTENSION_EVENTS, REASONS, encodeReply, type Payload } from '../../src/protocol';
import { UNAVAILABLE, type BroadcastLog, type StoredBroadcast } from '../engine/engine';
import type { Extension } from '../socket/extensions';
import { binaryAround } from '../wire/frame';
import { historyPage, pageContainer, parseHistoryRequest } from './replay';

const NO_BYTES = new Uint8Array(0);

/** What answering a history request needs. */
export interface HistoryDeps {
  history: BroadcastLog;
  /** Most entries one page carries (its bytes are the socket's budget, `ExtensionSocket.rates`). */
  pageSize: number;
  /** Told of each gap a meshed member fills (evidence about its relay, `mesh/trust.ts`). */
  repairing?(topic: string, socketId: string, epoch: string, from: number, to: number): void;
  reportError(error: unknown, context: string): void;
}

/** @example extensions.register(historyExtension({ history, pageSize: 500, reportError })) */
export function historyExtension(deps: HistoryDeps): Extension {
  return {
    event: EXTENSION_EVENTS.history,
    scope: 'channel',
    plumeOnly: true,
    handle(message, socket) {
      const instance = socket.joinedChannel(message);
      if (!instance) return;
      const request = parseHistoryRequest(message.payload);
      if (!request) return socket.replyError(message, REASONS.invalidPayload);
      // The socket's history budget is spent: the client backs off and asks again (PROTOCOL.md §5).
      const maxBytes = socket.rates.historyBytes();
      if (maxBytes === 0) return socket.replyError(message, REASONS.rateLimited);
      if (instance.meshCapable) deps.repairing?.(message.topic, socket.socketId, request.epoch, request.from, request.to);
      let served = 0;
      const view = (entry: StoredBroadcast): Payload | null => {
        served += entry.payloadJson.length;
        const payload = JSON.parse(entry.payloadJson) as Payload;
        if (!instance.isIntercepted(entry.event)) return payload;
        const json = instance.handleOut(entry.event, payload);
        return json === null ? null : (JSON.parse(json) as Payload);
      };
      // In the channel's frame order, once the pushes before it are answered (it finds their broadcasts):
      // its reply comes before those of the frames behind it.
      instance.inOrder((release) => {
        historyPage(deps.history, message.topic, request, deps.pageSize, view, maxBytes).then(
          (page) => {
            // JSON entries were counted as they were viewed; bytes are never viewed (no handleOut for them).
            for (const entry of page.entries) if ('binary' in entry) served += entry.binary.length;
            socket.rates.historyServed(served, true);
            const container = pageContainer(page);
            if (container) socket.send(binaryAround(encodeReply(message.joinRef, message.ref!, message.topic, 'ok', NO_BYTES), container), true);
            else socket.reply(message, { status: 'ok', response: page as unknown as Payload });
          },
          (err: unknown) => {
            deps.reportError(err, `history of ${message.topic}`);
            socket.replyError(message, UNAVAILABLE);
          },
        ).finally(release);
      }, () => socket.replyError(message, REASONS.unmatchedTopic), true);
    },
  };
}
