/**
 * In-process PubSub adapter: the embedded, zero-setup default.
 *
 * With its own bus (the default) it is a single node and publishes nowhere.
 * Several adapters given the same `MemoryBus` behave as nodes of one cluster,
 * which lets tests exercise multi-node paths without Redis.
 */
import { randomUUID } from 'node:crypto';
import type { Envelope, PubSubAdapter } from './adapter';

/** A shared in-process bus joining several `MemoryAdapter` nodes. */
export class MemoryBus {
  private readonly nodes = new Map<string, (envelope: Envelope) => void>();

  /** @internal */
  attach(node: string, deliver: (envelope: Envelope) => void): void {
    this.nodes.set(node, deliver);
  }

  /** @internal */
  detach(node: string): void {
    this.nodes.delete(node);
  }

  /** @internal Delivers to every attached node except the sender, asynchronously as a network would. */
  send(envelope: Envelope): void {
    for (const [node, deliver] of this.nodes) {
      if (node !== envelope.node) queueMicrotask(() => deliver(envelope));
    }
  }
}

/**
 * @example
 * const bus = new MemoryBus();
 * const a = new PubSub(new MemoryAdapter({ bus })); // node A
 * const b = new PubSub(new MemoryAdapter({ bus })); // node B sees A's broadcasts
 */
export class MemoryAdapter implements PubSubAdapter {
  readonly nodeName: string;
  private readonly bus: MemoryBus;

  constructor(options: { bus?: MemoryBus; nodeName?: string } = {}) {
    this.bus = options.bus ?? new MemoryBus();
    this.nodeName = options.nodeName ?? `node-${randomUUID().slice(0, 8)}`;
  }

  start(deliver: (envelope: Envelope) => void): void {
    this.bus.attach(this.nodeName, deliver);
  }

  publish(envelope: Envelope): void {
    this.bus.send(envelope);
  }

  close(): void {
    this.bus.detach(this.nodeName);
  }
}
