/**
 * Limits on what a person types, as they meet them: a counter appears as a
 * message or a name nears its limit, and text over it is refused with the
 * reason, never cut without a word.
 */
import { test, expect } from './fixtures';
import { bodies, signIn, tag } from './people';

test('a message over the limit is refused with the reason and kept whole; a counter shows near the limit', async ({ openPages }) => {
  const [alice, bob] = await openPages(2, `/#/limits-${tag()}`);
  await signIn(alice!, 'Alice');
  await signIn(bob!, 'Bob');
  const composer = alice!.getByTestId('composer');
  const counter = alice!.getByTestId('composer-counter');

  await composer.fill('a short one');
  await expect(counter).toBeHidden();
  await composer.fill(`${'word '.repeat(395)}words`); // 1,980 characters
  await expect(counter).toHaveText('1,980 / 2,000');
  await expect(counter).toHaveAttribute('data-state', 'near');

  const paste = `${'pasted text '.repeat(8_499)}pasted text!`; // 102,000 characters
  await composer.fill(paste);
  await expect.poll(() => composer.evaluate((el) => (el as HTMLTextAreaElement).value.length)).toBe(paste.length);
  await expect(counter).toHaveAttribute('data-state', 'over');
  await expect(counter).toHaveText('102,000 / 2,000: 100,000 too many to send. Shorten it, or send it in parts.');
  await expect(alice!.getByTestId('send-button')).toBeDisabled();
  await composer.press('Enter');
  await expect.poll(() => composer.evaluate((el) => (el as HTMLTextAreaElement).value.length)).toBe(paste.length);
  await expect(bodies(alice!)).toHaveCount(0);

  // Within the limit it goes, whole.
  const longest = `${'word '.repeat(399)}last!`; // 2,000 characters
  await composer.fill(longest);
  await expect(counter).toHaveText('2,000 / 2,000');
  await composer.press('Enter');
  await expect(bodies(bob!)).toHaveText([longest]);
});

test('a display name over the limit is refused with the reason and kept whole; a counter shows near the limit', async ({ openPages }) => {
  const [alice] = await openPages(1, '/#/lobby');
  const input = alice!.getByTestId('name-input');
  const counter = alice!.getByTestId('name-counter');
  await expect(alice!.getByTestId('name-dialog')).toBeVisible();

  await input.fill('Ada');
  await expect(counter).toBeHidden();
  const long = 'Alexandra Konstantinopoulou-Smithson'; // 36 characters
  await input.fill(long);
  await expect(input).toHaveValue(long);
  await expect(counter).toHaveText('36 / 32: 4 too many. Names can be up to 32 characters.');
  await expect(counter).toHaveAttribute('data-state', 'over');
  await input.press('Enter');
  await expect(alice!.getByTestId('name-dialog')).toBeVisible();
  await expect(input).toHaveValue(long);

  const fits = 'Alexandra Konstantinopoulou-Smit'; // 32 characters
  await input.fill(fits);
  await expect(counter).toHaveText('32 / 32');
  await input.press('Enter');
  await expect(alice!.getByTestId('current-name')).toHaveText(fits);
});
