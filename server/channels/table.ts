/**
 * The channels one connection has joined, by topic. Almost every socket
 * joins one or two topics, and a server holds one table per socket, so the
 * first channel is kept in a field and a `Map` (about 180 bytes even when
 * empty) is made only for a second one.
 *
 * Responsible for lookup by topic and nothing else.
 */
export class ChannelTable<C extends { readonly topic: string }> {
  private only: C | null = null;
  private map: Map<string, C> | null = null;

  get size(): number {
    return this.map ? this.map.size : this.only ? 1 : 0;
  }

  get(topic: string): C | undefined {
    if (this.map) return this.map.get(topic);
    return this.only?.topic === topic ? this.only : undefined;
  }

  /** Stores `channel` under its topic, replacing any channel of that topic. */
  set(channel: C): void {
    if (this.map) {
      this.map.set(channel.topic, channel);
    } else if (this.only === null || this.only.topic === channel.topic) {
      this.only = channel;
    } else {
      this.map = new Map([[this.only.topic, this.only], [channel.topic, channel]]);
      this.only = null;
    }
  }

  delete(topic: string): void {
    if (this.map) this.map.delete(topic);
    else if (this.only?.topic === topic) this.only = null;
  }

  /** A snapshot of the channels: safe to iterate while they are removed. */
  values(): C[] {
    return this.map ? [...this.map.values()] : this.only ? [this.only] : [];
  }

  clear(): void {
    this.only = null;
    this.map = null;
  }
}
