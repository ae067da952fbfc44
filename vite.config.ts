/**
 * Vite config for the demo chat app (`demo/`).
 *
 * Contract relied on by scripts/start.mjs and e2e/fixtures.ts:
 * - the app root is `demo/`, and `vite build` writes `demo/dist` (emptied first);
 * - `/socket` and `/yjs` (WebSockets included) are proxied to PLUME_SERVER_URL, read when
 *   the config loads. Do not set `changeOrigin`: the server's Origin check
 *   accepts the socket because Origin and Host both stay the Vite origin.
 * - the demo imports the client as `plume`, `plume/durable`, `plume/mesh` and `plume/yjs`
 *   (the aliases below; tsconfig has the matching `paths` entries), so the
 *   demo reads like an app using the package.
 * - dev only: with PLUME_API_KEY set (`npm start` makes one per run), `/api/*`
 *   and `/metrics` are proxied too, and the proxy adds the key, so the live
 *   dashboard (`/dashboard.html`) reads them without the key ever reaching
 *   the browser. The dashboard is not part of the production build.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type ProxyOptions } from 'vite';

const clientEntry = fileURLToPath(new URL('./src/index.ts', import.meta.url));
const plume = process.env.PLUME_SERVER_URL ?? 'http://127.0.0.1:4000';
const apiKey = process.env.PLUME_API_KEY;
const withKey: ProxyOptions = { target: plume, headers: { authorization: `Bearer ${apiKey}` } };

export default defineConfig({
  root: fileURLToPath(new URL('./demo', import.meta.url)),
  resolve: {
    // Exact match only, so `plume/server` is never pulled into the browser bundle.
    alias: [
      { find: /^plume$/, replacement: clientEntry },
      { find: /^plume\/durable$/, replacement: fileURLToPath(new URL('./src/durable.ts', import.meta.url)) },
      { find: /^plume\/mesh$/, replacement: fileURLToPath(new URL('./src/mesh/index.ts', import.meta.url)) },
      { find: /^plume\/yjs$/, replacement: fileURLToPath(new URL('./src/yjs/index.ts', import.meta.url)) },
    ],
  },
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    proxy: {
      '/socket': { target: plume, ws: true },
      // The y-websocket endpoint (/yjs/<room>), so editors using y-websocket work against `npm start` too.
      '/yjs': { target: plume, ws: true },
      ...(apiKey ? { '^/api/': withKey, '^/metrics$': withKey } : {}),
    },
  },
});
