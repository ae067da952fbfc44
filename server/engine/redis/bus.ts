/**
 * PubSub between nodes over Redis: every envelope (presence replication,
 * messages for `handleInfo`, ephemeral events) is published as JSON on one
 * channel that every node subscribes to. Channel broadcasts do not travel
 * here: the broadcast log publishes them, sequenced, on their topic's
 * shard channel.
 *
 * Responsible for carrying envelopes; a node drops its own. Envelopes sent
 * while Redis is unreachable are lost (they are not broadcasts: presence
 * resynchronizes by heartbeats and full states).
 */
import type { Envelope, PubSubAdapter } from '../../pubsub/adapter';
import type { RedisLink } from './connection';
import { busChannel } from './keys';

/** @example new PubSub(new RedisBus(link, 'plume', 'node-a', onError)) */
export class RedisBus implements PubSubAdapter {
  private deliver: ((envelope: Envelope) => void) | null = null;
  private readonly channel: string;

  constructor(private readonly link: RedisLink, prefix: string, readonly nodeName: string, private readonly onError: (error: unknown) => void) {
    this.channel = busChannel(prefix);
    link.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (this.deliver && channel.toString() === this.channel) this.receive(message);
    });
    // Subscribed again on every reconnect, in case the first subscription failed while Redis was down.
    link.onReady(() => {
      if (this.deliver) this.link.subscriber.subscribe(this.channel).catch((error: unknown) => this.onError(error));
    });
  }

  async start(deliver: (envelope: Envelope) => void): Promise<void> {
    this.deliver = deliver;
    await this.link.subscriber.subscribe(this.channel).catch((error: unknown) => this.onError(error));
  }

  publish(envelope: Envelope): void {
    let text: string;
    try {
      text = JSON.stringify(envelope);
    } catch (error) {
      return this.onError(error);
    }
    this.link.command((redis) => redis.publish(this.channel, text)).catch((error: unknown) => this.onError(error));
  }

  close(): void {
    this.deliver = null;
  }

  private receive(message: Buffer): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message.toString()) as Envelope;
    } catch (error) {
      return this.onError(error);
    }
    if (envelope.node !== this.nodeName) this.deliver?.(envelope);
  }
}
