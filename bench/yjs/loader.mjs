/**
 * Builds a document on a server the way its editors would: updates sent in
 * order over one socket, with a window of them in flight, each counted done
 * when the server's broadcast of it comes back to that socket (all three
 * servers echo an update to its sender; y-websocket acknowledges nothing
 * else). Used by the late-join and idle-memory parts.
 */
import { DocClient } from './client.mjs';

/**
 * Sends `updates` to `doc` through `client` (opened with `echoes` as its onUpdate counter) and
 * resolves once every one came back.
 */
export async function sendAll(client, echoes, updates, { window = 100, stallMs = 20_000 } = {}) {
  let sent = 0;
  let lastProgress = performance.now();
  let lastSeen = echoes.count;
  while (echoes.count < updates.length) {
    const frames = [];
    while (sent < updates.length && sent - echoes.count < window) frames.push(client.frame(updates[sent++]));
    if (frames.length > 0) client.sendFrames(frames);
    await echoes.next();
    if (echoes.count !== lastSeen) {
      lastSeen = echoes.count;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > stallMs) {
      throw new Error(`${client.contender.name}: ${client.doc} stalled at ${echoes.count} of ${updates.length} updates echoed`);
    }
  }
}

/** Counts updates a socket receives; `next()` resolves at the next one (or after 100 ms). */
export function echoCounter() {
  let wake = null;
  const counter = {
    count: 0,
    onUpdate: () => {
      counter.count++;
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
    },
    next: () =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve();
        }, 100);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
  };
  return counter;
}

/** Opens a socket to `doc`, sends `updates` through it, and returns it (still open). */
export async function build(contender, port, doc, updates, options) {
  const echoes = echoCounter();
  const client = await DocClient.open(contender, port, doc, { onUpdate: echoes.onUpdate });
  await sendAll(client, echoes, updates, options);
  return client;
}
