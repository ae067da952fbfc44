/**
 * Two Plume server processes on one Redis, behind a load balancer, with the
 * demo in Chromium: two people whose sockets land on different nodes chat
 * and see each other online, and one of them keeps chatting — nothing lost,
 * nothing twice — after its node is killed (its socket fails over to the
 * other node and recovers there).
 */
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { join } from 'node:path';
import type { ViteDevServer } from 'vite';
import { NodeProcess } from '../test/node-process';
import { RedisServer } from '../test/redis-server';
import { Balancer } from './balancer';
import { expect, startVite, test } from './fixtures';
import { bodies, say, signIn, tag } from './people';
import { expectOnline } from './presence-page';

const DIST = join(import.meta.dirname, '..', 'demo', 'dist');

interface Cluster {
  redis: RedisServer;
  nodes: NodeProcess[];
  balancer: Balancer;
  vite?: ViteDevServer;
  appUrl: string;
}

/** Sockets now connected to each node, from its /health. */
async function socketsOn(node: NodeProcess): Promise<number> {
  const res = await fetch(`${node.url}/health`);
  return ((await res.json()) as { sockets: number }).sockets;
}

async function openAs(browser: Browser, contexts: BrowserContext[], url: string, name: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: url });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${name}] uncaught: ${err.message}`));
  return page;
}

test.describe('two nodes on one Redis', () => {
  let cluster: Cluster;
  const contexts: BrowserContext[] = [];

  test.beforeAll(async ({ mode }) => {
    const redis = await RedisServer.start();
    const args = mode === 'prod' ? ['--static', DIST, '--mesh-min-relayed', '1'] : ['--mesh-min-relayed', '1'];
    const nodes = [await NodeProcess.start({ redis: redis.url, nodeId: 'one', args }), await NodeProcess.start({ redis: redis.url, nodeId: 'two', args })];
    // Bruno's socket goes to node two while it is up; everyone else's to node one.
    const balancer = await Balancer.start(nodes.map((n) => n.port), (line) => (/[?&]name=Bruno\b/.test(line) ? 1 : 0));
    const vite = mode === 'dev' ? await startVite(balancer.url) : undefined;
    const appUrl = vite ? vite.resolvedUrls!.local[0]!.replace(/\/$/, '') : balancer.url;
    cluster = { redis, nodes, balancer, vite, appUrl };
  });

  test.afterAll(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    await cluster.vite?.close();
    await cluster.balancer.close();
    await Promise.all(cluster.nodes.map((n) => n.kill()));
    await cluster.redis.stop();
  });

  test('two people on two nodes chat and see each other online; one keeps chatting after its node is killed', async ({ browser }) => {
    test.setTimeout(90_000);
    const room = `cluster-${tag()}`;
    const ada = await openAs(browser, contexts, cluster.appUrl, 'Ada');
    const bruno = await openAs(browser, contexts, cluster.appUrl, 'Bruno');
    await ada.goto(`/#/${room}`);
    await bruno.goto(`/#/${room}`);
    await signIn(ada, 'Ada');
    await signIn(bruno, 'Bruno');
    // Each on a node of its own.
    await expect.poll(async () => [await socketsOn(cluster.nodes[0]!), await socketsOn(cluster.nodes[1]!)]).toEqual([1, 1]);
    await expectOnline(ada, ['Ada', 'Bruno']);
    await expectOnline(bruno, ['Ada', 'Bruno']);

    const t = tag();
    await say(ada, `from node one ${t}`);
    await say(bruno, `from node two ${t}`);
    for (const page of [ada, bruno]) await expect(bodies(page)).toHaveText([`from node one ${t}`, `from node two ${t}`]);

    // Node two dies: Bruno's socket fails over to node one and recovers what it missed.
    await cluster.nodes[1]!.kill();
    await say(ada, `while two was dying ${t}`);
    await expect(bruno.getByTestId('connection-status')).toHaveAttribute('data-state', 'connected', { timeout: 20_000 });
    await expect.poll(() => socketsOn(cluster.nodes[0]!), { timeout: 20_000 }).toBe(2);
    await say(bruno, `Bruno, now on node one ${t}`);
    const all = [`from node one ${t}`, `from node two ${t}`, `while two was dying ${t}`, `Bruno, now on node one ${t}`];
    for (const page of [ada, bruno]) await expect(bodies(page)).toHaveText(all, { timeout: 20_000 });
    await expect(bruno.getByText('Some messages may be missing')).toHaveCount(0);
    await expectOnline(ada, ['Ada', 'Bruno'], 20_000);
    await expectOnline(bruno, ['Ada', 'Bruno'], 20_000);
  });
});
