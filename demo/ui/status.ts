/**
 * The connection indicator in the header and the banner shown while not
 * connected. Both carry `data-state` (`connected`, `connecting`,
 * `reconnecting`, `offline`).
 */
import type { Connection } from '../chat';

const LABELS: Record<Connection, string> = {
  connected: 'Connected',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

const BANNERS: Record<Connection, string> = {
  connected: '',
  connecting: 'Connecting to the chat server…',
  reconnecting: 'Connection lost. Reconnecting… Messages you send now will go out when it is back.',
  offline: 'You are offline. Messages you send now will go out when the connection is back.',
};

export class StatusView {
  private readonly indicator: HTMLElement;
  private readonly label: HTMLElement;
  private readonly banner: HTMLElement;

  constructor(indicator: HTMLElement, banner: HTMLElement) {
    this.indicator = indicator;
    this.banner = banner;
    const label = indicator.querySelector('.status__label');
    if (!(label instanceof HTMLElement)) throw new Error('the connection status needs a .status__label');
    this.label = label;
  }

  show(state: Connection): void {
    this.indicator.dataset.state = state;
    this.label.textContent = LABELS[state];
    this.indicator.title = `Connection: ${LABELS[state]}`;
    this.banner.dataset.state = state;
    this.banner.textContent = BANNERS[state];
    this.banner.hidden = state === 'connected';
  }
}
