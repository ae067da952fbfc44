/**
 * Maps topics to channel handlers. A pattern ending in `*` matches every
 * topic with that prefix (`room:*`); any other pattern matches exactly.
 * Earlier registrations win; fallbacks (such as the default relay) are
 * consulted only when no application handler matches.
 */
export class Router<H> {
  private readonly routes: Array<{ pattern: string; handler: H }> = [];
  private readonly fallbacks: Array<{ pattern: string; handler: H }> = [];

  /** Registers `handler` for `pattern`. Throws on an invalid pattern. */
  add(pattern: string, handler: H, fallback = false): void {
    if (pattern === '' || pattern.indexOf('*') !== -1 && pattern.indexOf('*') !== pattern.length - 1) {
      throw new Error(`invalid topic pattern "${pattern}": use an exact topic or a prefix ending in "*", like "room:*"`);
    }
    (fallback ? this.fallbacks : this.routes).push({ pattern, handler });
  }

  /** The handler for `topic`, or undefined when nothing matches. */
  match(topic: string): H | undefined {
    return find(this.routes, topic) ?? find(this.fallbacks, topic);
  }
}

function find<H>(routes: Array<{ pattern: string; handler: H }>, topic: string): H | undefined {
  for (const { pattern, handler } of routes) {
    if (pattern.endsWith('*') ? topic.startsWith(pattern.slice(0, -1)) : topic === pattern) return handler;
  }
  return undefined;
}
