/**
 * A page-side harness for e2e/y-websocket.spec.ts: the Plume client with a
 * document bound (`plume/yjs`), or an unmodified y-websocket provider, on
 * whatever app page it is injected into (bundled by the spec with esbuild,
 * added with `page.addScriptTag`), so the spec does not depend on the
 * demo having a notes pane. Both connect through the page's own origin:
 * `/socket` and `/yjs` (Vite's proxy in dev, the Plume server in prod).
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { Socket } from '../src/index';
import { bindDoc } from '../src/yjs/index';

/** What the spec drives, as `window.harness`. */
export interface Harness {
  /** Joins `room:<room>` as `name` with a bound document; resolves once synced. */
  plume(room: string, name: string): Promise<void>;
  /** Opens a y-websocket provider for `<room>` (server URL `ws(s)://<origin>/yjs`); resolves once synced. */
  yWebsocket(room: string, name: string): Promise<void>;
  /** Inserts into the shared text `body`. */
  insert(index: number, text: string): void;
  /** Inserts into `body` right after the first `anchor` in it now (wherever the others' edits moved it). */
  insertAfter(anchor: string, text: string): void;
  /** The shared text `body`. */
  text(): string;
  /** The `user.name` of every awareness state this page sees but its own. */
  others(): string[];
}

let doc = new Y.Doc();
let awareness: { clientID: number; getStates(): Map<number, Record<string, unknown>>; setLocalStateField(field: string, value: unknown): void } | null = null;

const harness: Harness = {
  async plume(room, name) {
    const socket = new Socket('/socket', { params: { name } });
    socket.connect();
    const channel = socket.channel(`room:${room}`);
    const binding = bindDoc(channel, new Y.Doc(), { persist: false });
    doc = binding.doc;
    awareness = binding.awareness;
    awareness?.setLocalStateField('user', { id: name, name });
    await channel.join();
    await binding.synced;
  },
  async yWebsocket(room, name) {
    const provider = new WebsocketProvider(`${location.origin.replace(/^http/, 'ws')}/yjs`, room, doc, { params: { name } });
    awareness = provider.awareness;
    awareness.setLocalStateField('user', { name });
    await new Promise<void>((resolve) => (provider.synced ? resolve() : provider.once('sync', () => resolve())));
  },
  insert(index, text) {
    doc.getText('body').insert(index, text);
  },
  insertAfter(anchor, text) {
    const body = doc.getText('body');
    const at = body.toString().indexOf(anchor);
    if (at === -1) throw new Error(`insertAfter: "${anchor}" is not in the text "${body.toString()}"`);
    body.insert(at + anchor.length, text);
  },
  text() {
    return doc.getText('body').toString();
  },
  others() {
    const self = awareness?.clientID;
    return [...(awareness?.getStates() ?? new Map())].filter(([id]) => id !== self).map(([, state]) => String((state.user as { name?: unknown } | undefined)?.name));
  },
};

(globalThis as unknown as { harness: Harness }).harness = harness;
