/**
 * The mesh panel: how the room on screen reaches this member (straight from
 * the server, or passed on by a peer), its peers and their links, and the
 * counters behind it, refreshed every second from `room.stats()`. Opened
 * from the header's mesh button, which shows how many peers are linked.
 *
 * The panel's root carries the raw numbers as `data-*` attributes (updated
 * whether it is open or not), for the e2e tests: `data-route`,
 * `data-peers-up`, `data-received-direct`, `data-received-relayed`,
 * `data-forwarded`, `data-forward-to`, `data-repairs`, `data-forgeries`.
 */
import { formatBytes, summarize, type MeshPeer, type MeshSummary, type RoomStats } from '../mesh';
import { byTestId, h } from './dom';
import type { Avatars } from './avatars';
import { initialOf } from './format';

/** The room on screen, as the panel needs it. */
export interface MeshSource {
  name: string;
  stats(): RoomStats;
  /** Names by mesh member id. */
  memberNames(): Map<string, string>;
}

const REFRESH_MS = 1_000;

/** One of the four numbers; `value` and `note` are filled on refresh. */
class Tile {
  readonly element: HTMLElement;
  readonly value = h('span', { class: 'mesh-tile__value' });
  readonly note = h('span', { class: 'mesh-tile__note' });

  constructor(label: string, testId: string) {
    this.element = h('div', { class: 'mesh-tile', attrs: { 'data-testid': testId } }, [h('span', { class: 'mesh-tile__label', text: label }), this.value, this.note]);
  }

  show(value: string, note: string): void {
    this.value.textContent = value;
    this.note.textContent = note;
  }
}

/**
 * @example
 * const panel = new MeshPanel(app, avatars);
 * panel.follow({ name: 'lobby', stats: () => room.stats(), memberNames: () => room.peers.all() });
 */
export class MeshPanel {
  private readonly app: HTMLElement;
  private readonly button: HTMLButtonElement;
  private readonly buttonCount: HTMLElement;
  /** " peers" after the count; narrow screens show only the number. */
  private readonly buttonUnit: HTMLElement;
  private readonly panel: HTMLElement;
  private readonly roomLabel = h('span', { class: 'mesh__room' });
  private readonly route = h('div', { class: 'mesh__route', attrs: { 'data-testid': 'mesh-route' } });
  private readonly routeText = h('strong', { class: 'mesh__route-text' });
  private readonly detail = h('p', { class: 'mesh__detail', attrs: { 'data-testid': 'mesh-detail' } });
  private readonly share = new Tile('Via peers', 'mesh-share');
  private readonly bar = h('span', { class: 'mesh-tile__fill' });
  private readonly forwarded = new Tile('Passed on', 'mesh-forwarded');
  private readonly repairs = new Tile('Gaps refilled', 'mesh-repairs');
  private readonly forgeries = new Tile('Forgeries', 'mesh-forgeries');
  private readonly peersCount = h('span', { class: 'mesh__count' });
  private readonly peers = h('ul', { class: 'mesh__peers', attrs: { 'data-testid': 'mesh-peers' } });
  private source: MeshSource | null = null;
  private readonly avatars: Avatars;

  constructor(app: HTMLElement, avatars: Avatars) {
    this.app = app;
    this.avatars = avatars;
    this.button = byTestId(app, 'mesh-button', HTMLButtonElement);
    this.buttonCount = byTestId(this.button, 'mesh-button-count', HTMLElement);
    this.buttonUnit = h('span', { class: 'mesh-pill__unit' });
    this.buttonCount.after(this.buttonUnit);
    this.panel = byTestId(app, 'mesh-panel', HTMLElement);
    this.build();
    this.button.addEventListener('click', () => this.setOpen(this.panel.hidden));
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.setOpen(false);
    });
    setInterval(() => this.refresh(), REFRESH_MS);
  }

  /** Shows the mesh of the room on screen (null before the session starts). */
  follow(source: MeshSource | null): void {
    this.source = source;
    this.refresh();
  }

  private build(): void {
    const close = h('button', { class: 'close-button mesh__close', text: '×', attrs: { type: 'button', 'data-testid': 'mesh-close', 'aria-label': 'Hide the peer relay' } });
    close.addEventListener('click', () => this.setOpen(false));
    const title = h('h2', { class: 'mesh__title', attrs: { id: 'mesh-heading' } }, [document.createTextNode('Peer relay '), this.roomLabel]);
    this.route.append(h('span', { class: 'mesh__route-icon', attrs: { 'aria-hidden': 'true' } }), h('div', {}, [h('span', { class: 'mesh__label', text: 'Messages reach you' }), this.routeText]));
    this.share.element.append(h('span', { class: 'mesh-tile__bar', attrs: { 'aria-hidden': 'true' } }, [this.bar]));
    this.panel.replaceChildren(
      h('div', { class: 'mesh__header' }, [title, close]),
      h('p', {
        class: 'mesh__intro',
        text: 'Browsers in this room pass messages on to each other, so the server sends fewer copies. The server signs each message; every browser checks it before showing it.',
      }),
      this.route,
      this.detail,
      h('div', { class: 'mesh__tiles' }, [this.share.element, this.forwarded.element, this.repairs.element, this.forgeries.element]),
      h('h3', { class: 'mesh__subheading' }, [document.createTextNode('Peers '), this.peersCount]),
      this.peers,
    );
  }

  private setOpen(open: boolean): void {
    if (open === !this.panel.hidden) return;
    this.panel.hidden = !open;
    this.app.classList.toggle('app--mesh-open', open);
    this.button.setAttribute('aria-expanded', String(open));
    if (open) this.refresh();
  }

  private refresh(): void {
    const source = this.source;
    const s = summarize(source?.stats() ?? { repairs: 0, mesh: null }, source?.memberNames() ?? new Map());
    this.record(s);
    this.buttonCount.textContent = String(s.peersUp);
    this.buttonUnit.textContent = s.peersUp === 1 ? ' peer' : ' peers';
    this.button.dataset.route = s.route;
    this.button.setAttribute('aria-label', `Peer relay: ${s.peersUp} peer${s.peersUp === 1 ? '' : 's'} linked`);
    if (this.panel.hidden) return;
    this.roomLabel.textContent = source ? `#${source.name}` : '';
    this.route.dataset.route = s.route;
    this.routeText.textContent = s.routeText;
    this.detail.textContent = s.detail;
    const received = s.receivedDirect + s.receivedRelayed;
    const percent = s.relayedShare === null ? null : Math.round(s.relayedShare * 100);
    this.share.show(percent === null ? '–' : `${percent}%`, received === 0 ? 'nothing received yet' : `${s.receivedRelayed} of ${received} received`);
    this.bar.style.width = `${percent ?? 0}%`;
    this.forwarded.show(String(s.forwarded), s.forwarded === 0 ? 'messages for others' : `${formatBytes(s.bytesForwarded)} for others`);
    this.repairs.show(String(s.repairs), 'from the server');
    this.forgeries.show(String(s.forgeries), 'caught and dropped');
    this.forgeries.element.dataset.alert = String(s.forgeries > 0);
    this.peersCount.textContent = `${s.peersUp} of ${s.peers.length} linked`;
    this.peers.replaceChildren(...(s.peers.length > 0 ? s.peers.map((peer) => this.peerItem(peer)) : [h('li', { class: 'mesh__empty', text: 'No peers yet: the server sends you everything.' })]));
  }

  private record(s: MeshSummary): void {
    const data = this.panel.dataset;
    data.route = s.route;
    data.peersUp = String(s.peersUp);
    data.receivedDirect = String(s.receivedDirect);
    data.receivedRelayed = String(s.receivedRelayed);
    data.forwarded = String(s.forwarded);
    data.forwardTo = String(s.forwardTo);
    data.repairs = String(s.repairs);
    data.forgeries = String(s.forgeries);
  }

  private peerItem(peer: MeshPeer): HTMLLIElement {
    const avatar = h('span', { class: 'avatar mesh-peer__avatar', text: initialOf(peer.name), attrs: { 'aria-hidden': 'true' } });
    this.avatars.paint(avatar, peer.name);
    const who = h('span', { class: 'mesh-peer__who' }, [
      h('span', { class: 'mesh-peer__name', text: peer.name }),
      ...(peer.fedByYou ? [h('span', { class: 'mesh-peer__note', text: 'gets messages from you' })] : []),
    ]);
    const state = h('span', { class: 'mesh-peer__state', text: peer.up ? 'Linked' : 'Connecting…' });
    return h('li', { class: 'mesh-peer', attrs: { 'data-testid': 'mesh-peer', 'data-state': peer.up ? 'up' : 'connecting' } }, [avatar, who, state]);
  }
}
