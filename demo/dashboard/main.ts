/**
 * The live dashboard (`/dashboard.html`, dev only): connections, messages
 * per second over time, and the rooms with who is in them, read every
 * second from `/metrics` and the HTTP API.
 *
 * Vite's dev server proxies `/api` and `/metrics` to Plume and adds the API
 * key itself (vite.config.ts; `npm start` makes a key per run), so the key
 * never reaches this page. Not part of the production build.
 */
import { drawChart, type Point } from './chart';
import { compact, parseMetrics, rate, value, type Sample } from './metrics';
import { peopleOf, renderRooms, type Room } from './rooms';

const SPAN_MS = 2 * 60_000;
const POLL_MS = 1000;
const MAX_ROOMS = 24;

const $ = <T extends Element>(id: string) => document.querySelector(`[data-testid="${id}"]`) as T;
const points: Point[] = [];
let previous: { at: number; sample: Sample } | null = null;

function setCard(id: string, text: string): void {
  $<HTMLElement>(id).textContent = text;
}

function showMetrics(sample: Sample, at: number): void {
  setCard('card-connections', compact(value(sample, 'plume_connections')));
  setCard('card-topics', compact(value(sample, 'plume_topics')));
  setCard('card-relayed', `${Math.round(value(sample, 'plume_mesh_relayed_share') * 100)}%`);
  setCard('card-lag', `${Math.round(value(sample, 'plume_nodejs_eventloop_lag_p99_seconds') * 1000)} ms`);
  if (previous) {
    const seconds = (at - previous.at) / 1000;
    const messages = rate(value(previous.sample, 'plume_broadcasts_total'), value(sample, 'plume_broadcasts_total'), seconds);
    const deliveries = rate(value(previous.sample, 'plume_deliveries_total'), value(sample, 'plume_deliveries_total'), seconds);
    setCard('card-rate', compact(messages));
    points.push({ at, values: [messages, deliveries] });
    while (points.length > 0 && points[0]!.at < at - SPAN_MS) points.shift();
    const max = drawChart($<SVGSVGElement>('chart'), points, SPAN_MS, ['chart__line--messages', 'chart__line--deliveries']);
    setCard('chart-max', `scale: ${max}/s`);
  }
  previous = { at, sample };
}

async function json<T>(path: string): Promise<T> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path} answered ${res.status}`);
  return (await res.json()) as T;
}

async function rooms(): Promise<Room[]> {
  const { topics } = await json<{ topics: { topic: string; members: number }[] }>(`/api/topics?limit=${MAX_ROOMS}`);
  return Promise.all(topics.map(async ({ topic, members }) => {
    const { presences } = await json<{ presences: Record<string, { metas: { name?: unknown }[] }> }>(`/api/topics/${encodeURIComponent(topic)}/presence`);
    return { topic, members, people: peopleOf(presences) };
  }));
}

function status(text: string, ok: boolean): void {
  const element = $<HTMLElement>('dashboard-status');
  element.textContent = text;
  element.classList.toggle('status--bad', !ok);
}

async function poll(): Promise<void> {
  try {
    const res = await fetch('/metrics');
    if (!res.ok) throw new Error(res.status === 401 || res.status === 404 ? 'no API key reached the server: start it with npm start' : `/metrics answered ${res.status}`);
    const sample = parseMetrics(await res.text());
    showMetrics(sample, Date.now());
    const list = await rooms();
    renderRooms($<HTMLElement>('dashboard-rooms'), list);
    setCard('card-people', compact(new Set(list.flatMap((room) => room.people)).size));
    status(value(sample, 'plume_engine_up') === 1 ? `Live · updated ${new Date().toLocaleTimeString()}` : 'The engine cannot be reached', value(sample, 'plume_engine_up') === 1);
  } catch (err) {
    status(`Not live: ${(err as Error).message}`, false);
  } finally {
    setTimeout(() => void poll(), POLL_MS);
  }
}

void poll();
