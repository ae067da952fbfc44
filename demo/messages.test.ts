import { describe, expect, it } from 'vitest';
import { MessageLog, parseMessage, type ChatMessage } from './messages';

function message(id: string, extra: Partial<ChatMessage> = {}): ChatMessage {
  return { id, body: `body ${id}`, name: 'Ada', sentAt: 0, mine: false, status: 'sent', ...extra };
}

const ids = (log: MessageLog) => log.messages.map((m) => m.id);

describe('MessageLog', () => {
  it('keeps our waiting messages after the delivered ones, whatever order they arrive in', () => {
    const log = new MessageLog();
    log.deliver(message('a'));
    log.queue(message('q1', { mine: true, status: 'queued', queueKey: '1' }));
    log.deliver(message('b'));
    expect(ids(log)).toEqual(['a', 'b', 'q1']);
  });

  it('moves one of ours among the delivered messages when the server delivers it', () => {
    const log = new MessageLog();
    log.queue(message('q1', { mine: true, status: 'queued', queueKey: '1' }));
    log.queue(message('q2', { mine: true, status: 'queued', queueKey: '2' }));
    log.deliver(message('b'));
    expect(log.deliver(message('q1'))).toBe('moved');
    expect(ids(log)).toEqual(['b', 'q1', 'q2']);
    expect(log.get('q1')?.mine).toBe(true);
    expect(log.nextId('q1')).toBe('q2');
    expect(log.nextId('q2')).toBeNull();
  });

  it('holds each message once: a second delivery or queueing of an id changes nothing', () => {
    const log = new MessageLog();
    expect(log.deliver(message('a'))).toBe('added');
    expect(log.deliver(message('a'))).toBeNull();
    expect(log.queue(message('a', { mine: true, status: 'queued' }))).toBe(false);
    expect(ids(log)).toEqual(['a']);
  });

  it('orders waiting messages by their outbox key, and puts one without a key last', () => {
    const log = new MessageLog();
    log.queue(message('new', { mine: true, status: 'queued' }));
    log.queue(message('later', { mine: true, status: 'queued', queueKey: '2' }));
    log.queue(message('earlier', { mine: true, status: 'queued', queueKey: '1' }));
    expect(ids(log)).toEqual(['earlier', 'later', 'new']);
  });

  it('removes a waiting message (discarded) but never a delivered one', () => {
    const log = new MessageLog();
    log.deliver(message('a'));
    log.queue(message('q', { mine: true, status: 'failed', queueKey: '1' }));
    expect(log.remove('a')).toBeUndefined();
    expect(log.remove('q')?.id).toBe('q');
    expect(ids(log)).toEqual(['a']);
    expect(log.get('q')).toBeUndefined();
  });
});

describe('parseMessage', () => {
  const sent = { id: 'm1', body: 'hi', name: 'Ada', sentAt: 1 };

  it('takes the name the sender wrote when the server vouches for none (dev mode)', () => {
    expect(parseMessage(sent)).toEqual(sent);
  });

  it('takes the name the server stamped over the one the sender wrote', () => {
    expect(parseMessage({ ...sent, name: 'Mallory', from: { id: 'u-ada', name: 'Ada' } })).toEqual(sent);
  });
});
