/**
 * The members of a measured room, behind one handle (`stats`, `progress`,
 * `report`, `close`) whatever they are: Node members in child processes
 * (`peers.ts`, driven over JSON lines) or Chromium pages (`page.ts`, driven
 * with Playwright), so the runner measures both the same way.
 */
import { createInterface } from 'node:readline';
import { killGroup, start } from '../../scripts/lib/proc.mjs';

/** A child process hosting Node members (`peers.ts`), driven over JSON lines. */
export function peerProcess(file) {
  const child = start(process.execPath, [file], { stdout: 'pipe', stderr: 'pipe' });
  const waiting = new Map();
  let stderr = '';
  let nextId = 0;
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('@@')) return;
    const body = JSON.parse(line.slice(2));
    waiting.get(body.id)?.(body);
    waiting.delete(body.id);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ask = (cmd, args = {}, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => reject(new Error(`members' process: no answer to ${cmd} within ${timeoutMs} ms ${stderr}`)), timeoutMs);
      waiting.set(id, (body) => {
        clearTimeout(timer);
        if (body.ok) resolve(body.result);
        else reject(new Error(`members' process: ${cmd} failed: ${body.error}`));
      });
      child.stdin.write(`${JSON.stringify({ ...args, cmd, id })}\n`);
    });
  return {
    ask,
    async stop() {
      await ask('stop', {}, 5_000).catch(() => {});
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 2_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `members` Node members spread over `processes` children, as one room handle. */
export function nodeRoom(file, { topic, members, processes, mesh }) {
  return async (url) => {
    const procs = Array.from({ length: Math.min(processes, members) }, () => peerProcess(file));
    const names = procs.map((_, p) => Array.from({ length: members }, (_, i) => `node${i}`).filter((_, i) => i % procs.length === p));
    try {
      await Promise.all(procs.map((proc, p) => proc.ask('start', { url, topic, names: names[p], mesh })));
    } catch (err) {
      await Promise.all(procs.map((proc) => proc.stop()));
      throw err;
    }
    const all = (cmd) => Promise.all(procs.map((proc) => proc.ask(cmd)));
    let peakFiles = 0;
    return {
      stats: async () => {
        const each = await all('stats');
        peakFiles = Math.max(peakFiles, ...each.map((s) => s.files));
        return each.reduce((a, b) => ({ relayed: a.relayed + b.relayed, linksUp: a.linksUp + b.linksUp, links: a.links + b.links, forwarding: a.forwarding + b.forwarding }));
      },
      peakFiles: () => peakFiles,
      progress: async () => (await all('progress')).flat(),
      report: async () => (await all('report')).flat(),
      close: () => Promise.all(procs.map((proc) => proc.stop())),
    };
  };
}

/** `count` Chromium pages, a context each, as one room handle. */
export function browserRoom(browser, { topic, count, mesh }) {
  return async (url) => {
    const contexts = [];
    const pages = [];
    const errors = [];
    const close = () => Promise.all(contexts.map((c) => c.close()));
    try {
      for (let i = 0; i < count; i++) {
        const context = await browser.newContext();
        contexts.push(context);
        const page = await context.newPage();
        page.on('pageerror', (error) => errors.push(String(error)));
        await page.goto(`${url}/`);
        await page.waitForFunction(() => window.meshBench?.ready === true);
        pages.push(page);
      }
      const clocks = await Promise.all(pages.map((page, i) => page.evaluate((args) => window.meshBench.start(args), { topic, name: `page${i}`, mesh })));
      console.log(`[bench:mesh] page clocks: offsets ${clocks.map((c) => c.offsetMs.toFixed(2)).join(', ')} ms (round trips ${clocks.map((c) => c.rttMs.toFixed(2)).join(', ')} ms)`);
    } catch (err) {
      await close();
      throw err;
    }
    const all = (fn) => Promise.all(pages.map((page) => page.evaluate((name) => window.meshBench[name](), fn)));
    return {
      stats: async () => (await all('stats')).reduce((a, s) => ({ relayed: a.relayed + (s?.relayed ? 1 : 0), linksUp: a.linksUp + (s?.linksUp ?? 0), links: a.links + (s?.links ?? 0), forwarding: a.forwarding + (s?.forwarding ? 1 : 0) }), { relayed: 0, linksUp: 0, links: 0, forwarding: 0 }),
      progress: () => all('progress'),
      report: async () => (await all('report')).map((r, i) => ({ ...r, name: `page${i}` })),
      close: async () => {
        await all('stop').catch(() => {});
        await close();
        if (errors.length) console.warn(`[bench:mesh] page errors: ${errors.join('\n')}`);
      },
    };
  };
}
