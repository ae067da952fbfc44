/**
 * The live dashboard (`/dashboard.html`, served by Vite in dev): it reads
 * /metrics and the HTTP API through Vite's proxy (which adds the API key)
 * and shows live numbers, the messages-per-second chart, and the rooms with
 * who is in them. Dev only: the production build has no dashboard.
 */
import { test, expect } from './fixtures';
import { say, signIn, tag } from './people';

test('shows connections, messages per second, and the rooms with who is in them, live', async ({ openPages, page, stack }) => {
  test.skip(stack.mode === 'prod', 'the dashboard is a dev page (Vite proxies the API and adds the key)');
  await page.goto('/dashboard.html');
  await expect(page.getByTestId('dashboard-status')).toContainText('Live');
  const id = tag();
  const [ada, bob] = await openPages(2);
  await signIn(ada!, `Ada ${id}`);
  await signIn(bob!, `Bob ${id}`);
  await expect(page.getByTestId('card-connections')).toHaveText(/^[2-9]$|^\d{2,}$/);
  const lobby = page.locator('[data-testid="dashboard-room"][data-topic="room:lobby"]');
  await expect(lobby.locator('.person', { hasText: `Ada ${id}` })).toBeVisible();
  await expect(lobby.locator('.person', { hasText: `Bob ${id}` })).toBeVisible();
  for (let i = 0; i < 5; i++) await say(ada!, `message ${i} ${id}`);
  await expect(page.getByTestId('card-rate')).not.toHaveText(/^(–|0)$/, { timeout: 10_000 });
  await expect(page.getByTestId('chart').locator('path.chart__line--messages')).toHaveAttribute('d', /L/);
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.screenshot({ path: test.info().outputPath('dashboard.png'), fullPage: true });
});
