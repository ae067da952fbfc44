/**
 * The conversation: one item per message (`data-id` is the message id,
 * `data-status` where it is: `queued`, `sending`, `sent`, `failed`), the
 * empty state, and auto-scrolling. New messages scroll into view when the
 * reader is at the bottom (or sent them); otherwise a "new messages" button
 * appears instead of yanking the view away from what they are reading.
 * A message the server refused shows why, with Retry and Discard. A message
 * that continues one person's run (`grouping.ts`) is drawn without the
 * avatar and name again (`msg--continued`; the name stays for screen readers).
 */
import { continuesRun } from '../grouping';
import type { ChatMessage } from '../messages';
import type { Avatars } from './avatars';
import { byTestId, h } from './dom';
import { formatFull, formatTime, initialOf } from './format';

/** How close to the bottom (px) still counts as "at the bottom". */
const STICKY_PX = 80;

/** What the buttons on a refused message do. */
export interface MessageActions {
  retry(id: string): void;
  discard(id: string): void;
}

export class MessageList {
  private readonly scroller: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly empty: HTMLElement;
  private readonly emptyTitle: HTMLElement;
  private readonly jump: HTMLButtonElement;
  private readonly items = new Map<string, HTMLLIElement>();
  /** The messages on screen by id, as last drawn (for grouping). */
  private readonly shown = new Map<string, ChatMessage>();
  private readonly avatars: Avatars;
  /** Whether the reader was at the newest message at the last scroll, kept there when the layout changes. */
  private stuck = true;

  constructor(root: ParentNode, actions: MessageActions, avatars: Avatars) {
    this.avatars = avatars;
    this.scroller = byTestId(root, 'message-scroller', HTMLElement);
    this.list = byTestId(root, 'message-list', HTMLOListElement);
    this.empty = byTestId(root, 'empty-state', HTMLElement);
    this.emptyTitle = byTestId(root, 'empty-title', HTMLElement);
    this.jump = byTestId(root, 'jump-to-latest', HTMLButtonElement);
    this.jump.addEventListener('click', () => this.scrollToEnd('smooth'));
    this.scroller.addEventListener('scroll', () => {
      this.stuck = this.atBottom();
      if (this.stuck) this.jump.hidden = true;
    });
    // The banner, the composer growing or the keyboard opening shrink the view: stay at the newest message.
    new ResizeObserver(() => {
      if (this.stuck) this.scrollToEnd('instant');
    }).observe(this.scroller);
    this.list.addEventListener('click', (event) => {
      const button = event.target instanceof Element ? event.target.closest<HTMLElement>('[data-action]') : null;
      const id = button?.closest<HTMLElement>('[data-testid="message"]')?.dataset.id;
      if (!id) return;
      if (button?.dataset.action === 'retry') actions.retry(id);
      else if (button?.dataset.action === 'discard') actions.discard(id);
    });
  }

  /** Shows a room's messages, scrolled to the newest. */
  show(room: string, messages: readonly ChatMessage[], joined: boolean): void {
    this.items.clear();
    this.shown.clear();
    this.list.replaceChildren(...messages.map((m) => this.render(m)));
    this.regroup();
    this.setJoined(room, joined);
    this.refreshEmpty();
    this.jump.hidden = true;
    this.scrollToEnd('instant');
  }

  /** Says in the empty state whether the room is joined yet (until then its messages pass us by). */
  setJoined(room: string, joined: boolean): void {
    this.emptyTitle.textContent = joined ? `No messages in #${room} yet` : `Joining #${room}…`;
    this.empty.dataset.joined = String(joined);
  }

  /** Adds a message of the room on screen, before the message `beforeId` (null: at the end). */
  add(message: ChatMessage, beforeId: string | null = null): void {
    const stick = message.mine || this.atBottom();
    this.place(this.render(message), beforeId);
    this.regroup();
    this.refreshEmpty();
    if (stick) this.scrollToEnd('instant');
    else this.jump.hidden = false;
  }

  /** Redraws a message whose status changed, and moves it before `beforeId` (null: to the end) when given. */
  update(message: ChatMessage, beforeId?: string | null): void {
    const old = this.items.get(message.id);
    if (!old) return;
    const stick = this.atBottom();
    const fresh = this.render(message);
    fresh.classList.add('msg--updated'); // already on screen: no entrance animation again
    old.replaceWith(fresh);
    if (beforeId !== undefined) this.place(fresh, beforeId);
    this.regroup();
    if (stick) this.scrollToEnd('instant');
  }

  /** Takes a message off the screen (a refused message the user discarded). */
  remove(id: string): void {
    this.items.get(id)?.remove();
    this.items.delete(id);
    this.shown.delete(id);
    this.regroup();
    this.refreshEmpty();
  }

  /** Marks each message that continues the run of the one drawn before it. O(n), n ≤ the room's 500 messages. */
  private regroup(): void {
    let previous: ChatMessage | null = null;
    for (const item of this.list.children) {
      const message = this.shown.get((item as HTMLElement).dataset.id ?? '') ?? null;
      item.classList.toggle('msg--continued', message !== null && continuesRun(previous, message));
      previous = message;
    }
  }

  private place(item: HTMLLIElement, beforeId: string | null): void {
    const before = beforeId === null ? null : (this.items.get(beforeId) ?? null);
    if (item.parentNode === this.list && item.nextElementSibling === before) return;
    this.list.insertBefore(item, before);
  }

  private render(message: ChatMessage): HTMLLIElement {
    const time = h('time', { class: 'msg__time', text: formatTime(message.sentAt), attrs: { datetime: new Date(message.sentAt).toISOString(), title: formatFull(message.sentAt), 'data-testid': 'message-time' } });
    const meta = h('div', { class: 'msg__meta' }, [h('span', { class: 'msg__name', text: message.name, attrs: { 'data-testid': 'message-name' } }), time]);
    // In the meta line, so a status that comes and goes never shifts the layout.
    const status = statusLine(message);
    if (status) meta.append(status);
    const body = h('p', { class: 'msg__body', text: message.body, attrs: { 'data-testid': 'message-body' } });
    const bubble = h('div', { class: 'msg__bubble' }, [meta, body]);
    if (message.mine && message.status === 'failed') bubble.append(failureLine(message));
    const avatar = h('div', { class: 'avatar msg__avatar', text: initialOf(message.name), attrs: { 'aria-hidden': 'true' } });
    this.avatars.paint(avatar, message.name);
    const item = h(
      'li',
      { class: `msg${message.mine ? ' msg--mine' : ''}`, attrs: { 'data-testid': 'message', 'data-id': message.id, 'data-status': message.status, 'data-mine': message.mine ? 'true' : undefined } },
      [avatar, bubble],
    );
    this.items.set(message.id, item);
    this.shown.set(message.id, message);
    return item;
  }

  private refreshEmpty(): void {
    this.empty.hidden = this.list.childElementCount > 0;
  }

  private atBottom(): boolean {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight < STICKY_PX;
  }

  private scrollToEnd(behavior: ScrollBehavior): void {
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior });
    this.stuck = true;
    this.jump.hidden = true;
  }
}

function statusLine(message: ChatMessage): HTMLElement | null {
  if (!message.mine) return null;
  const attrs = { 'data-testid': 'message-status' };
  switch (message.status) {
    case 'sent':
      return h('span', { class: 'msg__status msg__status--sent', text: '✓', attrs: { ...attrs, title: 'Sent', 'aria-label': 'Sent' } });
    case 'sending':
      return h('span', { class: 'msg__status', text: 'Sending…', attrs });
    case 'queued':
      return h('span', { class: 'msg__status msg__status--queued', text: 'Queued', attrs: { ...attrs, title: 'Saved on this device; it goes out when the connection is back' } });
    case 'failed':
      return h('span', { class: 'msg__status msg__status--failed', text: 'Not sent', attrs });
  }
}

/** Under a refused message: the server's reason, and what the person can do about it. */
function failureLine(message: ChatMessage): HTMLElement {
  return h('div', { class: 'msg__failure' }, [
    h('span', { class: 'msg__reason' }, [
      document.createTextNode('Refused: '),
      h('span', { text: message.reason ?? 'no reason given', attrs: { 'data-testid': 'failure-reason' } }),
    ]),
    h('span', { class: 'msg__actions' }, [
      h('button', { class: 'msg__action', text: 'Retry', attrs: { type: 'button', 'data-action': 'retry', 'data-testid': 'retry' } }),
      h('button', { class: 'msg__action', text: 'Discard', attrs: { type: 'button', 'data-action': 'discard', 'data-testid': 'discard' } }),
    ]),
  ]);
}
