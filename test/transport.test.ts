/**
 * HTTP and the upgrade (PROTOCOL.md §1): path and Origin checks before a
 * socket exists, and `GET /health`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { health, upgradeStatus, useServers } from './helpers';

const start = useServers();

describe('the upgrade', () => {
  it('refuses a foreign Origin with HTTP 403', async () => {
    const { socketUrl } = await start();
    expect(await upgradeStatus(socketUrl, { headers: { Origin: 'http://evil.example' } })).toBe(403);
  });

  it('refuses the same host on another port with HTTP 403', async () => {
    const { socketUrl, port } = await start();
    expect(await upgradeStatus(socketUrl, { headers: { Origin: `http://127.0.0.1:${port + 1}` } })).toBe(403);
  });

  it('accepts the server\'s own origin', async () => {
    const { socketUrl, url } = await start();
    expect(await upgradeStatus(socketUrl, { headers: { Origin: url } })).toBe(101);
  });

  it('accepts an allowlisted origin', async () => {
    const { socketUrl } = await start({ allowedOrigins: ['https://app.example'] });
    expect(await upgradeStatus(socketUrl, { headers: { Origin: 'https://app.example' } })).toBe(101);
    expect(await upgradeStatus(socketUrl, { headers: { Origin: 'https://other.example' } })).toBe(403);
  });

  it('accepts any origin with "*"', async () => {
    const { socketUrl } = await start({ allowedOrigins: ['*'] });
    expect(await upgradeStatus(socketUrl, { headers: { Origin: 'https://anything.example' } })).toBe(101);
  });

  it('accepts a request without Origin (a non-browser client)', async () => {
    const { socketUrl } = await start();
    expect(await upgradeStatus(socketUrl)).toBe(101);
  });

  it('answers an upgrade on any other path with HTTP 404', async () => {
    const { url } = await start();
    const ws = url.replace('http:', 'ws:');
    expect(await upgradeStatus(`${ws}/socket`)).toBe(404);
    expect(await upgradeStatus(`${ws}/other/websocket`)).toBe(404);
    expect(await upgradeStatus(`${ws}/socket/websocket/extra`)).toBe(404);
  });

  it('serves the socket under a configured path', async () => {
    const { socketUrl, url } = await start({ path: '/realtime/' });
    expect(socketUrl).toBe(`${url.replace('http:', 'ws:')}/realtime/websocket`);
    expect(await upgradeStatus(socketUrl)).toBe(101);
    expect(await upgradeStatus(`${url.replace('http:', 'ws:')}/socket/websocket`)).toBe(404);
  });

  it('in dev mode, accepts a page on the same loopback origin as the Host it asked (a dev proxy in front)', async () => {
    const { socketUrl } = await start();
    expect(await upgradeStatus(socketUrl, { headers: { Host: 'localhost:5173', Origin: 'http://localhost:5173' } })).toBe(101);
  });

  it('with authentication, accepts only configured origins: its own loopback origin too must be configured', async () => {
    const { socketUrl, url } = await start({ secret: 'shh' });
    expect(await upgradeStatus(socketUrl, { headers: { Origin: url } })).toBe(403);
    expect(await upgradeStatus(socketUrl)).toBe(101);
    const configured = await start({ secret: 'shh', allowedOrigins: ['https://APP.example:443/'] });
    expect(await upgradeStatus(configured.socketUrl, { headers: { Origin: 'https://app.example' } })).toBe(101);
    expect(await upgradeStatus(configured.socketUrl, { headers: { Origin: 'http://app.example' } })).toBe(403);
  });

  it('refuses an allowedOrigins entry without a scheme at once, saying how to write it', async () => {
    await expect(start({ allowedOrigins: ['app.example'] })).rejects.toThrow(/allowedOrigins: "app.example" is not an origin; write the scheme and host/);
  });

  it('checks the Origin before authentication: a foreign page gets 403, not a close code', async () => {
    const { socketUrl } = await start({ secret: 'shh' });
    expect(await upgradeStatus(socketUrl, { headers: { Origin: 'http://evil.example' } })).toBe(403);
  });
});

describe('GET /health', () => {
  it('answers 200 with JSON status, node, uptime and counts', async () => {
    const { url, server, connect } = await start();
    const empty = await health(url);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ status: 'ok', node: server.pubsub.nodeName, uptimeMs: expect.any(Number), sockets: 0, channels: 0, topics: 0, framesSent: expect.any(Number), bytesSent: expect.any(Number), mesh: { rooms: 0, signatures: 0, reports: 0 }, history: { heldBytes: 0, pooledBytes: 0, allocatedBytes: 0, evictedForBudget: 0, topics: 0 }, engine: { engine: 'memory', ready: true } });

    const ada = await connect();
    const bob = await connect();
    await ada.joinOk('room:a');
    await ada.joinOk('room:b');
    await bob.joinOk('room:a');
    expect((await health(url)).body).toMatchObject({ sockets: 2, channels: 3, topics: 2 });
  });

  it('is served with no-store JSON headers', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/health`);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    await res.arrayBuffer();
  });

  it('answers other paths with 404', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/nothing-here`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });
});

describe('static files (staticDir)', () => {
  it('serves files from the directory, index.html for app routes, and still /health', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plume-static-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log("app")');
    const { url } = await start({ staticDir: dir });
    const script = await fetch(`${url}/app.js`);
    expect(script.status).toBe(200);
    expect(await script.text()).toBe('console.log("app")');
    // A single-page app: a route that is no file gets index.html.
    const route = await fetch(`${url}/rooms/lobby`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('<title>app</title>');
    expect((await health(url)).status).toBe(200);
  });
});
