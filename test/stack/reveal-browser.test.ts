import { expect, it } from 'vitest';
import { linkPagesInBrowser } from '../helpers/browser';

const VISIBLE_MS = 1500;

const stack = linkPagesInBrowser({
  name: 'reveal-browser-test',
  revealVisibleMs: VISIBLE_MS,
  rateLimitPerMinute: 1000,
});

it('reveals the codes, then hides them after the timer and says how to get a new link', async () => {
  const { baseUrl, seeder } = stack;
  const order = await seeder.seed({ cards: 2 });
  const { context, page, errors: consoleErrors } = await stack.newPage();

  const landing = await page.goto(`${baseUrl}/d/${order.token}`);
  expect(landing?.status()).toBe(200);
  await expect.poll(() => page.getByText(order.orderId).first().isVisible()).toBe(true);

  await Promise.all([page.waitForURL(`${baseUrl}/d/${order.token}/reveal`), page.click('#reveal')]);
  for (const card of order.cards) {
    expect(await page.getByText(card.value, { exact: true }).isVisible()).toBe(true);
    expect(await page.getByText(card.serial, { exact: true }).isVisible()).toBe(true);
  }
  // The countdown only moves if the nonce'd script runs under the page's CSP.
  await expect.poll(() => page.locator('#seconds').textContent(), { timeout: 1000 }).toBe('1');
  expect(await page.locator('#hidden-notice').isVisible()).toBe(false);

  await page.waitForSelector('#cards', { state: 'detached', timeout: VISIBLE_MS + 3000 });
  const html = await page.content();
  for (const card of order.cards) {
    expect(html).not.toContain(card.value);
    expect(html).not.toContain(card.serial);
  }
  expect(await page.locator('#hidden-notice').isVisible()).toBe(true);
  expect(await page.locator('#hidden-notice').textContent()).toMatch(
    /to get a new link, contact the merchant/i,
  );

  expect(consoleErrors).toEqual([]);
  await context.close();
}, 60_000);
