/**
 * Naming a room, as a person types it: letters of any script (and emoji)
 * are kept, the room's name is shown before it is created, and what is
 * wrong with a name is said next to the input, only while it applies.
 */
import { test, expect } from './fixtures';
import { signIn, tag } from './people';

test('a room name keeps its letters, and its name is shown before creating', async ({ openPages }) => {
  const t = tag();
  const [alice, bob] = await openPages(2, '/#/lobby');
  await signIn(alice!, 'Alice');
  await signIn(bob!, 'Bob');
  const input = alice!.getByTestId('new-room-input');
  const preview = alice!.getByTestId('new-room-preview');
  const error = alice!.getByTestId('new-room-error');

  const room = `book-club-☕-ünïcödé-日本-${t}`;
  await input.fill(`Book Club ☕ Ünïcödé 日本 ${t}`);
  await expect(preview).toHaveText(`Creates #${room}`);
  await expect(error).toBeHidden();
  await input.press('Enter');
  await expect(alice!.getByTestId('room-title')).toHaveText(room);
  await expect(bob!.getByTestId('room-item').filter({ hasText: room })).toBeVisible();

  for (const [typed, name] of [['☕☕', '☕☕'], ['日本語の部屋', '日本語の部屋'], ['Café Crème', 'café-crème']] as const) {
    await input.fill(typed);
    await expect(preview).toHaveText(`Creates #${name}`);
    await expect(error).toBeHidden();
  }
  await input.fill('lobby');
  await expect(preview).toHaveText('Opens #lobby, which you are already in');
});

test('a name that cannot be used says why, next to the input, and the message goes once it no longer applies', async ({ openPages }) => {
  const [alice] = await openPages(1, '/#/lobby');
  await signIn(alice!, 'Alice');
  const input = alice!.getByTestId('new-room-input');
  const preview = alice!.getByTestId('new-room-preview');
  const error = alice!.getByTestId('new-room-error');

  await input.fill('!!! ???');
  await expect(error).toHaveText('A room name needs a letter, a number or an emoji.');
  await expect(preview).toBeHidden();
  await input.fill('directory');
  await expect(error).toHaveText('“directory” is reserved for the room list: pick another name.');
  await input.fill('a'.repeat(40));
  await expect(error).toHaveText('Room names can be up to 32 characters: this one has 40.');
  await input.press('Enter');
  await expect(alice!.getByTestId('room-title')).toHaveText('lobby'); // refused, not cut to 32

  // Fixed by typing: the message goes.
  await input.fill('a'.repeat(32));
  await expect(error).toBeHidden();
  await expect(preview).toHaveText(`Creates #${'a'.repeat(32)}`);

  // Left behind by switching rooms: the form starts over.
  await input.fill('!!!');
  await input.press('Enter');
  await expect(error).toBeVisible();
  await alice!.getByTestId('room-item').filter({ hasText: 'random' }).click();
  await expect(alice!.getByTestId('room-title')).toHaveText('random');
  await expect(error).toBeHidden();
  await expect(input).toHaveValue('');
});
