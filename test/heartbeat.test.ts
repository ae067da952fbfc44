/**
 * Socket liveness: heartbeats on topic `phoenix` and the server's
 * heartbeat timeout (close 4408).
 */
import { describe, expect, it } from 'vitest';
import { useServers } from './helpers';

const start = useServers();
const TIMEOUT_MS = 300;

describe('heartbeat', () => {
  it('answers a heartbeat on topic phoenix with an ok reply', async () => {
    const { connect } = await start();
    const ada = await connect();
    ada.send([null, '9', 'phoenix', 'heartbeat', {}]);
    expect((await ada.next((f) => f.ref === '9')).raw).toBe('[null,"9","phoenix","phx_reply",{"status":"ok","response":{}}]');
  });

  it('closes a socket silent for heartbeatTimeoutMs with 4408', async () => {
    const { connect } = await start({ heartbeatTimeoutMs: TIMEOUT_MS });
    const connectingAt = Date.now();
    const ada = await connect();
    expect(await ada.closeEvent(TIMEOUT_MS * 5)).toEqual({ code: 4408, reason: 'heartbeat timeout' });
    expect(Date.now() - connectingAt).toBeGreaterThanOrEqual(TIMEOUT_MS);
  });

  it('ends the channels of a socket it timed out', async () => {
    const { connect, server } = await start({ heartbeatTimeoutMs: TIMEOUT_MS });
    const ada = await connect();
    await ada.joinOk('room:a');
    await ada.closeEvent(TIMEOUT_MS * 5);
    expect(server.stats()).toMatchObject({ sockets: 0, channels: 0, topics: 0 });
  });

  it('keeps a socket that heartbeats open past the timeout', async () => {
    const { connect } = await start({ heartbeatTimeoutMs: TIMEOUT_MS });
    const ada = await connect();
    const bob = await connect();
    const openedAt = Date.now();
    // Heartbeat like a client does, a few times per timeout, for three timeouts.
    while (Date.now() - openedAt < TIMEOUT_MS * 3) {
      await ada.heartbeat();
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS / 4));
    }
    expect(await bob.closeEvent()).toMatchObject({ code: 4408 });
    expect(ada.isOpen).toBe(true);
    await ada.heartbeat();
  });

  it('counts any frame as a sign of life, not only heartbeats', async () => {
    const { connect } = await start({ heartbeatTimeoutMs: TIMEOUT_MS });
    const ada = await connect();
    const joinRef = await ada.joinOk('room:a');
    const openedAt = Date.now();
    while (Date.now() - openedAt < TIMEOUT_MS * 3) {
      await ada.request('room:a', 'msg', {}, joinRef);
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS / 4));
    }
    expect(ada.isOpen).toBe(true);
  });
});
