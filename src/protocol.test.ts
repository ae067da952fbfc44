import { describe, expect, it } from 'vitest';
import {
  CLOSE, MAX_NAME_LENGTH, decode, encode, encodeRaw, isPayload, isReplyPayload, isReservedEvent, peekHeader, signedContent, withinDepth,
  type DecodeFailure, type DecodeSuccess,
} from './protocol';

function decoded(text: string, allowMeta = false): DecodeSuccess {
  const result = decode(text, allowMeta);
  if (!result.ok) throw new Error(`expected ${text} to decode, got ${result.reason}`);
  return result;
}

function refused(text: string, allowMeta = false): DecodeFailure {
  const result = decode(text, allowMeta);
  if (result.ok) throw new Error(`expected ${text} to be refused`);
  return result;
}

describe('encode', () => {
  it('writes the five-element V2 array', () => {
    expect(encode({ joinRef: '1', ref: '2', topic: 'room:a', event: 'hi', payload: { a: 1 } })).toBe('["1","2","room:a","hi",{"a":1}]');
  });

  it('writes null refs as null', () => {
    expect(encode({ joinRef: null, ref: null, topic: 'room:a', event: 'hi', payload: {} })).toBe('[null,null,"room:a","hi",{}]');
  });

  it('appends meta only when given', () => {
    expect(encode({ joinRef: null, ref: null, topic: 't', event: 'e', payload: {}, meta: { epoch: 'x', seq: 3 } }))
      .toBe('[null,null,"t","e",{},{"epoch":"x","seq":3}]');
  });
});

describe('encodeRaw', () => {
  it('produces the same bytes as encode around pre-serialized JSON', () => {
    const payload = { body: 'hi "there"', n: [1, 2] };
    expect(encodeRaw(null, null, 'room:a', 'new_msg', JSON.stringify(payload)))
      .toBe(encode({ joinRef: null, ref: null, topic: 'room:a', event: 'new_msg', payload }));
    expect(encodeRaw('7', '8', 'room:"q"', 'e\n', JSON.stringify(payload), JSON.stringify({ epoch: 'e', seq: 1 })))
      .toBe(encode({ joinRef: '7', ref: '8', topic: 'room:"q"', event: 'e\n', payload, meta: { epoch: 'e', seq: 1 } }));
  });

  it('round-trips through decode', () => {
    const text = encodeRaw('1', '2', 'room:a', 'ev', '{"x":true}');
    expect(decoded(text).message).toEqual({ joinRef: '1', ref: '2', topic: 'room:a', event: 'ev', payload: { x: true } });
  });
});

describe('decode', () => {
  it('reads a well-formed frame', () => {
    const result = decoded('["1","1","room:lobby","phx_join",{"k":"v"}]');
    expect(result.payloadValid).toBe(true);
    expect(result.message).toEqual({ joinRef: '1', ref: '1', topic: 'room:lobby', event: 'phx_join', payload: { k: 'v' } });
  });

  it('accepts null join_ref and null ref (the connection decides about ref)', () => {
    expect(decoded('[null,null,"phoenix","heartbeat",{}]').message.ref).toBeNull();
  });

  it.each([
    ['text that is not JSON', '{"oops'],
    ['a JSON object', '{"topic":"room:a"}'],
    ['a number', '42'],
    ['an empty array', '[]'],
    ['four elements', '["1","1","room:a","e"]'],
    ['seven elements', '["1","1","room:a","e",{},{},{}]'],
    ['a numeric join_ref', '[1,"1","room:a","e",{}]'],
    ['a numeric ref', '["1",1,"room:a","e",{}]'],
    ['an empty topic', '["1","1","","e",{}]'],
    ['a topic that is not a string', '["1","1",7,"e",{}]'],
    ['an event that is not a string', '["1","1","room:a",null,{}]'],
    ['an empty event', '["1","1","room:a","",{}]'],
    ['a topic longer than 255 characters', `["1","1","${'t'.repeat(MAX_NAME_LENGTH + 1)}","e",{}]`],
    ['an event longer than 255 characters', `["1","1","room:a","${'e'.repeat(MAX_NAME_LENGTH + 1)}",{}]`],
    ['a sixth element when meta is not allowed', '["1","1","room:a","e",{},{}]'],
  ])('refuses %s with 4400', (_name, text) => {
    const failure = refused(text);
    expect(failure.code).toBe(CLOSE.badFrame);
    expect(failure.reason).toMatch(/^malformed frame/);
  });

  it('accepts names of exactly 255 characters', () => {
    const name = 'n'.repeat(MAX_NAME_LENGTH);
    expect(decoded(`["1","1","${name}","${name}",{}]`).message.topic).toBe(name);
  });

  it('accepts an object sixth element when meta is allowed', () => {
    expect(decoded('["1","1","room:a","e",{},{"seq":2}]', true).message.meta).toEqual({ seq: 2 });
  });

  it('refuses a sixth element that is not an object even when meta is allowed', () => {
    expect(refused('["1","1","room:a","e",{},[1]]', true).code).toBe(CLOSE.badFrame);
    expect(refused('["1","1","room:a","e",{},null]', true).code).toBe(CLOSE.badFrame);
  });

  it('still refuses seven elements when meta is allowed', () => {
    expect(refused('["1","1","room:a","e",{},{},{}]', true).code).toBe(CLOSE.badFrame);
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"x"'],
    ['null', 'null'],
    ['a number', '3'],
  ])('marks a payload that is %s invalid but keeps the frame', (_name, payload) => {
    const result = decoded(`["1","5","room:a","e",${payload}]`);
    expect(result.payloadValid).toBe(false);
    expect(result.message.ref).toBe('5');
    expect(result.message.payload).toEqual({});
  });

  it('never throws on deeply nested input', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(refused(deep).code).toBe(CLOSE.badFrame);
  });
});

describe('predicates', () => {
  it('isPayload accepts plain objects only', () => {
    expect(isPayload({})).toBe(true);
    expect(isPayload([])).toBe(false);
    expect(isPayload(null)).toBe(false);
    expect(isPayload('x')).toBe(false);
  });

  it('isReplyPayload needs an ok/error status and an object response', () => {
    expect(isReplyPayload({ status: 'ok', response: {} })).toBe(true);
    expect(isReplyPayload({ status: 'error', response: { reason: 'x' } })).toBe(true);
    expect(isReplyPayload({ status: 'maybe', response: {} })).toBe(false);
    expect(isReplyPayload({ status: 'ok', response: 'x' })).toBe(false);
  });

  it('isReservedEvent covers phx_, presence_ and plume: names', () => {
    for (const event of ['phx_join', 'phx_anything', 'presence_diff', 'plume:ack']) expect(isReservedEvent(event)).toBe(true);
    for (const event of ['new_msg', 'phx', 'presence', 'plume']) expect(isReservedEvent(event)).toBe(false);
  });
});

describe('signedContent (PROTOCOL.md §10)', () => {
  it('is the JSON header array, a newline and the payload text, for names that need escaping too', () => {
    for (const [topic, event, id, exclude] of [
      ['room:a', 'msg', null, null],
      ['room:"ü"\\\n', 'é\u2028', 'm-1"', 'sock\u0000'],
      ['r', 'e', '', ''],
    ] as const) {
      const seq = 9007199254740991;
      expect(signedContent(topic, 'ep', seq, event, id, '{"a":1}', exclude)).toBe(`${JSON.stringify(['plume/2', topic, 'ep', seq, event, id, exclude])}\n{"a":1}`);
    }
  });
});

describe('nesting depth', () => {
  it('withinDepth counts arrays and objects, not scalars, without recursing', () => {
    expect(withinDepth('x', 0)).toBe(true);
    expect(withinDepth({}, 1)).toBe(true);
    expect(withinDepth({}, 0)).toBe(false);
    expect(withinDepth({ a: [1, { b: null }] }, 3)).toBe(true);
    expect(withinDepth({ a: [1, { b: null }] }, 2)).toBe(false);
    const deep = JSON.parse(`${'['.repeat(50_000)}${']'.repeat(50_000)}`) as unknown;
    expect(withinDepth(deep, 32)).toBe(false);
  });

  it('decodes a frame whose payload or meta nests too deep as "payload too deep", with an empty payload', () => {
    const payload = decoded(`["1","2","room:a","msg",{"a":${'['.repeat(40)}${']'.repeat(40)}}]`);
    expect(payload.payloadValid).toBe(false);
    expect(payload.problem).toBe('payload too deep');
    expect(payload.message.payload).toEqual({});
    const meta = decoded(`["1","2","room:a","msg",{},{"a":${'['.repeat(40)}${']'.repeat(40)}}]`, true);
    expect(meta.problem).toBe('payload too deep');
    expect(meta.message.meta).toBeUndefined();
    expect(decoded('["1","2","room:a","msg",[]]').problem).toBe('invalid payload');
    expect(decoded(`["1","2","room:a","msg",{"a":${'['.repeat(30)}${']'.repeat(30)}}]`).payloadValid).toBe(true);
  });
});

describe('peekHeader', () => {
  it('reads the first four elements without parsing the rest', () => {
    expect(peekHeader('["1","2","room:a","msg",{"never":"parsed"')).toEqual({ joinRef: '1', ref: '2', topic: 'room:a', event: 'msg' });
    expect(peekHeader(' [ null , "r" , "t\\u00fc" , "e" , ')).toEqual({ joinRef: null, ref: 'r', topic: 'tü', event: 'e' });
    expect(peekHeader('[null,"r","t\\"q","e",')?.topic).toBe('t"q');
  });

  it('returns null for anything that does not start like a frame', () => {
    for (const text of ['', '{}', '[1,"r","t","e",', '[null,"r","","e",', '[null,"r","t"]', '[null,"r","t","e"', `[null,"r","${'x'.repeat(3000)}","e",`]) {
      expect(peekHeader(text)).toBeNull();
    }
  });
});
