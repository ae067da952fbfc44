/**
 * Vite config for the demo chat app (`demo/`).
 *
 * Contract relied on by scripts/start.mjs and e2e/fixtures.ts:
 * - the app root is `demo/`, and `vite build` writes `demo/dist` (emptied first);
 * - `/socket` (WebSockets included) is proxied to PLUME_SERVER_URL, read when
 *   the config loads. Do not set `changeOrigin`: the server's Origin check
 *   accepts the socket because Origin and Host both stay the Vite origin.
 * - the demo imports the client as `plume`, `plume/durable` and `plume/mesh`
 *   (the aliases below; tsconfig has the matching `paths` entries), so the
 *   demo reads like an app using the package.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const clientEntry = fileURLToPath(new URL('./src/index.ts', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('./demo', import.meta.url)),
  resolve: {
    // Exact match only, so `plume/server` is never pulled into the browser bundle.
    alias: [
      { find: /^plume$/, replacement: clientEntry },
      { find: /^plume\/durable$/, replacement: fileURLToPath(new URL('./src/durable.ts', import.meta.url)) },
      { find: /^plume\/mesh$/, replacement: fileURLToPath(new URL('./src/mesh/index.ts', import.meta.url)) },
    ],
  },
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    proxy: {
      '/socket': { target: process.env.PLUME_SERVER_URL ?? 'http://127.0.0.1:4000', ws: true },
    },
  },
});
