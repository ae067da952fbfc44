/**
 * The connection indicator in the header, the banner shown while not
 * connected, and the count of our messages waiting to be sent. The
 * indicator and the banner carry `data-state` (`connected`, `connecting`,
 * `reconnecting`, `offline`), the indicator also `data-transport`
 * (`websocket`, `longpoll`); the count carries `data-count`.
 */
import type { TransportKind } from 'plume';
import type { Connection } from '../chat';
import { h } from './dom';

const LABELS: Record<Connection, string> = {
  connected: 'Connected',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

const BANNERS: Record<Connection, string> = {
  connected: '',
  connecting: 'Connecting to the chat server…',
  reconnecting: 'Connection lost. Reconnecting…',
  offline: 'You are offline.',
};

/** When waiting messages go out, by state. */
const WHEN: Record<Connection, string> = {
  connected: 'now',
  connecting: 'once connected',
  reconnecting: 'once reconnected',
  offline: 'when you are back online',
};

/** "1 message" / "3 messages". */
function messages(n: number): string {
  return `${n} message${n === 1 ? '' : 's'}`;
}

export class StatusView {
  private readonly indicator: HTMLElement;
  private readonly label: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly waitingBadge: HTMLElement;
  private readonly waitingCount: HTMLElement;
  private readonly waitingLabel: HTMLElement;
  private state: Connection = 'connecting';
  private waiting = 0;

  constructor(indicator: HTMLElement, banner: HTMLElement) {
    this.indicator = indicator;
    this.banner = banner;
    const label = indicator.querySelector('.status__label');
    if (!(label instanceof HTMLElement)) throw new Error('the connection status needs a .status__label');
    this.label = label;
    // Its text is "3 messages waiting to send"; narrow screens show only its clock icon (CSS) and the number.
    this.waitingCount = h('span', { class: 'waiting__count' });
    this.waitingLabel = h('span', { class: 'waiting__label' });
    this.waitingBadge = h('span', { class: 'waiting', attrs: { 'data-testid': 'outbox-count', 'data-count': '0', hidden: true } }, [this.waitingCount, this.waitingLabel]);
    indicator.before(this.waitingBadge);
  }

  show(state: Connection, transport: TransportKind = 'websocket'): void {
    this.state = state;
    this.indicator.dataset.state = state;
    this.indicator.dataset.transport = transport;
    // Long-poll is worth a word: it works, but this network blocks WebSockets (slower, more requests).
    const polling = state === 'connected' && transport === 'longpoll';
    this.label.textContent = polling ? `${LABELS[state]} · long-poll` : LABELS[state];
    this.indicator.title = polling
      ? 'Connection: connected over HTTP long-polling, because this network blocks WebSockets. WebSockets are tried again every 30 seconds.'
      : `Connection: ${LABELS[state]}`;
    this.banner.dataset.state = state;
    this.banner.hidden = state === 'connected';
    this.refreshBanner();
  }

  /** How many of our messages wait to be sent (stored in the outbox, not yet acknowledged). */
  showWaiting(count: number): void {
    this.waiting = count;
    this.waitingBadge.dataset.count = String(count);
    this.waitingBadge.title = `${messages(count)} waiting to send`;
    this.waitingCount.textContent = String(count);
    this.waitingLabel.textContent = ` message${count === 1 ? '' : 's'} waiting to send`;
    this.waitingBadge.hidden = count === 0;
    this.refreshBanner();
  }

  private refreshBanner(): void {
    if (this.state === 'connected') return;
    const when = WHEN[this.state];
    const queue = this.waiting > 0 ? `${messages(this.waiting)} saved on this device will go out ${when}.` : `Messages you send are saved and go out ${when}.`;
    this.banner.textContent = this.state === 'connecting' && this.waiting === 0 ? BANNERS.connecting : `${BANNERS[this.state]} ${queue}`;
  }
}
