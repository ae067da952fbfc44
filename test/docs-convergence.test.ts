/**
 * Property: three members edit one document (PROTOCOL.md §11) at random,
 * at once, while their connections drop and come back and their pages
 * reload from IndexedDB, and always end with identical documents that hold
 * every edit.
 *
 * Each member is a real Plume client against a real server, with its
 * document persisted in (fake) IndexedDB under a name of its own: a reload
 * destroys the socket, the binding and the document, and builds them again
 * from that storage. Edits are inserts of unique tokens at token
 * boundaries, so "holds every edit" is "holds every token"; inserts made at
 * the same place at once may come out in either order, the same for all.
 *
 * The sequences are fast-check's from a fixed seed, so a run is repeatable;
 * `CONVERGE_SEED=<n>` explores others. Convergence is awaited with a
 * generous deadline, never a fixed sleep.
 */
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Socket } from '../src/index';
import { bindDoc, type DocBinding } from '../src/yjs/index';
import { useDurableClients } from './durable-clients';
import { useServers } from './helpers';
import { deadline } from './waiting';

const start = useServers();
const { client, unload } = useDurableClients();

const MEMBERS = 3;

/** One step of a run. `at` picks a token boundary, in thousandths of the ones there are. */
type Step =
  | { kind: 'insert'; who: number; at: number }
  | { kind: 'network'; who: number }
  | { kind: 'reload'; who: number }
  | { kind: 'pause' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('insert' as const), who: fc.nat(MEMBERS - 1), at: fc.nat(999) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('network' as const), who: fc.nat(MEMBERS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reload' as const), who: fc.nat(MEMBERS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const) }) },
);

/** A member: its page (socket, binding, document) comes and goes; its storage and name stay. */
interface Member {
  name: string;
  persist: string;
  online: boolean;
  socket: Socket;
  binding: DocBinding;
  tokens: string[];
}

/** Polls until `check` holds. */
async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  await deadline(ms, what, (async () => {
    while (!check()) await new Promise((r) => setTimeout(r, 20));
  })());
}

/** Lets the sockets and IndexedDB make some progress, without waiting for anything in particular. */
function tick(): Promise<void> {
  return new Promise((r) => setTimeout(r, 5));
}

const text = (member: Member) => member.binding.doc.getText('body');

describe('documents edited at random by three members', () => {
  it('always converge to identical documents holding every edit, across drops and reloads', async () => {
    const { url, server } = await start();
    let run = 0;

    /** Opens the member's page: a socket (connected if online), its document loaded from IndexedDB and bound. */
    const open = (member: Pick<Member, 'name' | 'persist' | 'online'>, topic: string) => {
      const socket = client(url, member.name);
      if (!member.online) socket.disconnect('offline');
      const room = socket.channel(topic);
      const binding = bindDoc(room, new Y.Doc(), { persist: member.persist, awareness: false });
      room.join();
      return { socket, binding };
    };
    const close = (member: Member) => {
      member.binding.destroy();
      member.binding.doc.destroy();
      unload(member.socket);
    };

    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 30 }), async (steps) => {
        run++;
        const topic = `room:converge-${run}`;
        const members: Member[] = Array.from({ length: MEMBERS }, (_, i) => {
          const base = { name: `m${run}-${i}`, persist: `converge-${run}-${i}`, online: true };
          return { ...base, ...open(base, topic), tokens: [] };
        });
        try {
          for (const [n, s] of steps.entries()) {
            if (s.kind === 'pause') {
              await new Promise((r) => setTimeout(r, 30));
              continue;
            }
            const member = members[s.who]!;
            if (s.kind === 'insert') {
              const token = `[${s.who}.${n}]`;
              const body = text(member);
              const value = body.toString();
              // Token boundaries: the start, and after each token's closing bracket.
              const boundaries = [0, ...[...value].flatMap((c, i) => (c === ']' ? [i + 1] : []))];
              body.insert(boundaries[Math.min(boundaries.length - 1, Math.floor((s.at * boundaries.length) / 1000))]!, token);
              member.tokens.push(token);
            } else if (s.kind === 'network') {
              member.online = !member.online;
              if (member.online) member.socket.connect();
              else {
                server.disconnect((socket) => socket.assigns.name === member.name);
                member.socket.disconnect('offline');
              }
            } else {
              close(member);
              Object.assign(member, open(member, topic));
            }
            await tick();
          }
          for (const member of members) {
            if (member.online) continue;
            member.online = true;
            member.socket.connect();
          }
          const every = members.flatMap((m) => m.tokens);
          await until(
            'every member to be synced and hold the same document with every edit',
            () => {
              const first = text(members[0]!).toString();
              return members.every((m) => m.binding.status === 'synced' && text(m).toString() === first) && every.every((token) => first.includes(token));
            },
            20_000,
          ).catch((error: Error) => {
            throw new Error(`${error.message}\n${members.map((m) => `${m.name} (${m.binding.status}): ${text(m).toString()}`).join('\n')}\nexpected tokens: ${every.join(' ')}`);
          });
          expect(text(members[0]!).length).toBe(every.join('').length);
        } finally {
          for (const member of members) close(member);
        }
      }),
      { numRuns: 25, seed: Number(process.env.CONVERGE_SEED ?? 19), endOnFailure: true },
    );
  }, 120_000);
});
