/**
 * Who is in a room, as people see it: learning that a room exists does not
 * put anyone in it. A person joins a room by opening it (or creating it),
 * is listed online in the room they have open, and rooms they joined but
 * are not looking at count unread messages without listing them there.
 */
import { test, expect } from './fixtures';
import { say, signIn, tag } from './people';
import { expectOnline } from './presence-page';

test('a new room is listed for others, but only those who open it join it and show as online there', async ({ openPages, stack }) => {
  const t = tag();
  const room = `club-${t}`;
  const [alice, bob] = await openPages(2, '/#/lobby');
  await signIn(alice!, 'Alice');
  await signIn(bob!, 'Bob');

  await alice!.getByTestId('new-room-input').fill(room);
  await alice!.getByTestId('new-room-input').press('Enter');
  await expect(alice!.getByTestId('room-title')).toHaveText(room);

  // Bob learns of the room: it is offered to him, not joined for him.
  const bobsEntry = bob!.getByTestId('room-item').filter({ hasText: room });
  await expect(bobsEntry).toBeVisible();
  await expect(bobsEntry).toHaveAttribute('data-joined', 'false');
  // A barrier: anything Bob's page did on learning of the room reached the server before this message.
  await say(bob!, `Still in the lobby ${t}`);
  await expect(alice!.getByTestId('room-item').filter({ hasText: 'lobby' }).getByTestId('unread-badge')).toHaveText('1');
  expect(Object.keys(stack.server.presence.list(`room:${room}`))).toEqual(['Alice']);
  await expectOnline(alice!, ['Alice']);

  // Bob opens it: now he is in it, and both see each other there.
  await bobsEntry.click();
  await expect(bob!.getByTestId('room-title')).toHaveText(room);
  await expect(bob!.getByTestId('room-item').filter({ hasText: room })).toHaveAttribute('data-joined', 'true');
  await expectOnline(alice!, ['Alice', 'Bob']);
  await expectOnline(bob!, ['Alice', 'Bob']);

  // Back in the lobby, Bob stays a member (unread messages are counted) but is not listed in the room.
  await bob!.getByTestId('room-item').filter({ hasText: 'lobby' }).click();
  await expect(bob!.getByTestId('room-title')).toHaveText('lobby');
  await expectOnline(alice!, ['Alice']);
  await expectOnline(bob!, ['Bob']); // and Alice, in her room, is not listed in the lobby
  await say(alice!, `Anyone here? ${t}`);
  await expect(bob!.getByTestId('room-item').filter({ hasText: room }).getByTestId('unread-badge')).toHaveText('1');
});
