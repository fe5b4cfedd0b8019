/**
 * The customer's pages and emails in a real browser (headless Chromium): in every locale and for a branded
 * caller, axe-core finds no WCAG 2.x A/AA violation on any page; every barcode and QR code decodes back to
 * its card's code (zxing-wasm, on a screenshot of the SVG, as a cashier's scanner would see it); the copy
 * button copies and then clears the clipboard; the downloads are well-formed. Screenshots of each page go
 * to .data/test/screenshots/.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import { buildApp } from '../../api/app';
import { cardsText, revealPage } from '../../api/delivery-links/pages';
import { contextFor } from '../../api/http/customer-page';
import { MESSAGES, type MessageKind, messagePage } from '../../api/http/message-pages';
import { type Brand, DEFAULT_BRAND, parseBrands } from '../../domain/brand';
import { SUPPORTED_LANGUAGES } from '../../domain/i18n';
import { deliveryMail, noticeMail } from '../../domain/mail/templates';
import type { BarcodeFormat } from '../../domain/provider';
import { config, repoRoot } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { connectVault, type VaultSession } from '../../lib/vault';
import { launchChromium } from '../helpers/browser';
import { type RunningDecryptor, startDecryptor } from '../helpers/decryptor';
import { createSeeder, type Seeder } from '../helpers/seed';

const SCREENSHOTS = path.join(repoRoot, '.data', 'test', 'screenshots');
const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const BRANDS_JSON = JSON.stringify({
  acme: {
    displayName: 'Acme Rewards',
    accent: '#7a1fa2',
    onAccent: '#ffffff',
    text: '#1b1b1f',
    background: '#fffdf7',
    muted: '#595959',
    support: { name: 'Acme Rewards support', email: 'help@acme.example', url: 'https://acme.example/help' },
  },
});
const brands = parseBrands(BRANDS_JSON);
const LOOKS: Array<{ name: string; caller: string | null; brand: Brand }> = [
  { name: 'default', caller: null, brand: DEFAULT_BRAND },
  { name: 'acme', caller: 'acme', brand: brands.of('acme') },
];

let db: Db;
let vault: VaultSession;
let decryptor: RunningDecryptor;
let seeder: Seeder;
let app: FastifyInstance;
let browser: Browser;
let baseUrl: string;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const wasm = readFileSync(path.join(repoRoot, 'node_modules/zxing-wasm/dist/reader/zxing_reader.wasm'));
  // No CDN here: the decoder's wasm comes from node_modules.
  prepareZXingModule({
    overrides: {
      wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer,
    },
  });
  db = createPool();
  vault = await connectVault('api');
  decryptor = await startDecryptor();
  seeder = await createSeeder(db);
  app = await buildApp({
    db,
    decryptor: decryptor.client,
    logger: createLogger({ level: 'warn', name: 'customer-page-test' }),
    publicBaseUrl: config().PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 10_000,
    limitScope: `test-${randomUUID()}`,
    customerPages: { defaultLocale: 'en', brands },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await seeder?.cleanup();
  seeder?.close();
  vault?.close();
  await decryptor?.close();
  await db?.end();
});

const axeSummary: string[] = [];

async function expectAccessible(page: Page, name: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(WCAG).analyze();
  const violations = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  axeSummary.push(`${name}: ${result.passes.length} rules passed, ${violations.length} violations`);
  expect(violations, name).toEqual([]);
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** What a scanner reads from the element's pixels. */
async function decode(page: Page, selector: string): Promise<string[]> {
  const png = await page.locator(selector).screenshot();
  const results = await readBarcodes(new Uint8Array(png), { tryHarder: true, maxNumberOfSymbols: 1 });
  return results.filter((r) => r.isValid).map((r) => r.text);
}

async function newPage(locale: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ locale, viewport: { width: 800, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /content security policy/i.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}

describe.each(LOOKS)('the $name look', ({ name: look, caller }) => {
  it.each(SUPPORTED_LANGUAGES)(
    '%s: landing, reveal, expiry and error pages are accessible, in the language, and the codes scan',
    async (locale) => {
      const order = await seeder.seed({ cards: 2 });
      if (caller)
        await db.query('UPDATE orders SET caller = $2 WHERE order_id = $1', [order.orderId, caller]);
      const { context, page, errors } = await newPage('en-US');

      // The link carries the order's language (the email adds ?lang=): it wins over the browser's English.
      const landing = await page.goto(`${baseUrl}/d/${order.token}?lang=${locale}`);
      expect(landing?.status()).toBe(200);
      expect(await page.getAttribute('html', 'lang')).toBe(locale);
      await expectAccessible(page, `${look}-${locale}-landing`);
      await shoot(page, `${look}-${locale}-landing`);

      const [revealed] = await Promise.all([
        page.waitForResponse((r) => r.url().includes('/reveal')),
        page.click('#reveal'),
      ]);
      // The strict CSP is unchanged: nonce'd script and style only, no image, no other source.
      expect(revealed.headers()['content-security-policy']).toMatch(
        /^default-src 'none'; script-src 'nonce-[\w-]+'; style-src 'nonce-[\w-]+'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'$/,
      );
      expect(revealed.headers()['cache-control']).toBe('no-store');
      await page.waitForURL(/\/reveal/);
      expect(await page.getAttribute('html', 'lang')).toBe(locale);
      await expectAccessible(page, `${look}-${locale}-reveal`);
      await shoot(page, `${look}-${locale}-reveal`);
      for (const [i, card] of order.cards.entries()) {
        expect(await page.getByText(card.value, { exact: true }).isVisible()).toBe(true);
        expect(await decode(page, `li.card:nth-child(${i + 1}) svg.barcode`)).toEqual([card.value]);
        expect(await decode(page, `li.card:nth-child(${i + 1}) svg.qrcode`)).toEqual([card.value]);
      }
      // Nothing the page did was refused (a CSP violation would be a console error).
      expect(errors).toEqual([]);

      // The used link: the expiry page ("used or expired"), in the language.
      const gone = await page.goto(`${baseUrl}/d/${order.token}?lang=${locale}`);
      expect(gone?.status()).toBe(410);
      expect(await page.getAttribute('html', 'lang')).toBe(locale);
      await expectAccessible(page, `${look}-${locale}-expired`);
      await shoot(page, `${look}-${locale}-expired`);
      await context.close();
    },
    90_000,
  );
});

describe('error pages', () => {
  it.each(SUPPORTED_LANGUAGES)(
    '%s (from Accept-Language): every message page is accessible',
    async (locale) => {
      const { context, page } = await newPage(locale);
      const notFound = await page.goto(`${baseUrl}/d/${'A'.repeat(43)}`);
      expect(notFound?.status()).toBe(404);
      expect(await page.getAttribute('html', 'lang')).toBe(locale);
      await expectAccessible(page, `${locale}-not-found`);
      await shoot(page, `default-${locale}-not-found`);
      for (const kind of Object.keys(MESSAGES) as MessageKind[]) {
        for (const { name, brand } of LOOKS) {
          await page.setContent(messagePage(kind, 'n', contextFor(locale, brand)));
          await expectAccessible(page, `${name}-${locale}-${kind}`);
        }
      }
      await context.close();
    },
    90_000,
  );
});

describe('barcodes', () => {
  const cards: Array<{ value: string; serial: string; barcodeFormat?: BarcodeFormat; expect: string }> = [
    { value: '4006381333931', serial: '1', barcodeFormat: 'ean13', expect: 'EAN13' },
    // zxing reports UPC-A as the EAN-13 it is a subset of (a leading 0).
    { value: '036000291452', serial: '2', barcodeFormat: 'upca', expect: 'EAN13' },
    { value: 'GIFT-2024-ABC', serial: '3', barcodeFormat: 'code39', expect: 'Code39' },
    { value: 'PDF4-17AB-CDEF', serial: '4', barcodeFormat: 'pdf417', expect: 'PDF417' },
    { value: 'DM12-34AB-CDEF', serial: '5', barcodeFormat: 'datamatrix', expect: 'DataMatrix' },
    { value: 'QRQR-1234-ABCD', serial: '6', barcodeFormat: 'qrcode', expect: 'QRCode' },
    // EAN-13 cannot hold letters: Code 128, not an error (and never the code in a log).
    { value: 'ABCD-EFGH-2345', serial: '7', barcodeFormat: 'ean13', expect: 'Code128' },
  ];

  it('in the format the provider names decode back to the code, with the code as text beside them', async () => {
    const { context, page } = await newPage('en');
    await page.setContent(
      revealPage(contextFor('en', DEFAULT_BRAND), {
        nonce: 'n',
        orderId: 'ord-bar',
        cards,
        visibleMs: 60_000,
      }),
    );
    await shoot(page, 'barcode-formats');
    for (const [i, card] of cards.entries()) {
      const li = `li.card:nth-child(${i + 1})`;
      const symbol = card.barcodeFormat === 'qrcode' ? 'svg.qrcode' : 'svg.barcode';
      // zxing reads UPC-A as the EAN-13 it is part of: the same number with a leading 0.
      const read = card.barcodeFormat === 'upca' ? `0${card.value}` : card.value;
      expect(await decode(page, `${li} ${symbol}`), card.expect).toEqual([read]);
      const png = await page.locator(`${li} ${symbol}`).screenshot();
      const [result] = await readBarcodes(new Uint8Array(png), { tryHarder: true });
      expect(result?.format.replace(/[-\s]/g, '')).toBe(card.expect);
      expect(await page.locator(`${li} code.card-value`).textContent()).toBe(card.value);
      expect(await page.locator(`${li} ${symbol}`).getAttribute('role')).toBe('img');
    }
    await context.close();
  }, 60_000);
});

describe('moving the code', () => {
  it('the copy button copies the code, says so, and clears the clipboard after the time it names', async () => {
    const order = await seeder.seed({ cards: 1 });
    const context = await browser.newContext({
      permissions: ['clipboard-read', 'clipboard-write'],
      locale: 'de-DE',
    });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/d/${order.token}`);
    await Promise.all([page.waitForURL(/\/reveal/), page.click('#reveal')]);
    expect(await page.getAttribute('html', 'lang')).toBe('de-DE');
    expect(await page.locator('#cards .note').textContent()).toMatch(/Zwischenablage.*30 Sekunden/);
    // 30 seconds on the page; shortened here so the test sees the clearing.
    await page.evaluate(() => document.getElementById('cards')!.setAttribute('data-clear-ms', '1500'));
    await page.click('button.copy');
    await expect.poll(() => page.locator('#copy-status-1').textContent()).toMatch(/Code kopiert/);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(order.cards[0]!.value);
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), { timeout: 5000 }).toBe('');
    expect(await page.locator('#copy-status-1').textContent()).toMatch(/Zwischenablage wurde geleert/);
    await shoot(page, 'default-de-reveal-copied');
    await context.close();
  }, 30_000);

  it('prints without buttons and downloads well-formed text and PDF files, once', async () => {
    const order = await seeder.seed({ cards: 2 });
    const pdf = await fetch(`${baseUrl}/d/${order.token}/download?lang=fr`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'format=pdf',
    });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-disposition')).toBe(
      `attachment; filename="giftcards-${order.orderId}.pdf"`,
    );
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(bytes.subarray(-6).toString('latin1')).toMatch(/%%EOF\s*$/);
    // Single use, as before: the text download of the same link is refused.
    const again = await fetch(`${baseUrl}/d/${order.token}/download`, { method: 'POST' });
    expect(again.status).toBe(410);

    const text = cardsText(contextFor('es', DEFAULT_BRAND), 'ord-t', order.cards);
    expect(text.startsWith('\uFEFF')).toBe(true);
    expect(text).toContain(`Código: ${order.cards[0]!.value}\r\n`);
    expect(text.split('\r\n').every((line) => !line.includes('\n'))).toBe(true);

    const { context, page } = await newPage('en');
    await page.setContent(
      revealPage(contextFor('en', DEFAULT_BRAND), {
        nonce: 'n',
        orderId: 'ord-p',
        cards: order.cards,
        visibleMs: 60_000,
      }),
    );
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('button.copy').first().isVisible()).toBe(false);
    expect(await page.locator('#print').isVisible()).toBe(false);
    expect(await page.locator('svg.barcode').first().isVisible()).toBe(true);
    await shoot(page, 'default-en-reveal-print');
    await context.close();
  }, 30_000);
});

describe('emails', () => {
  it.each(SUPPORTED_LANGUAGES)(
    '%s: link, replacement and notice emails are accessible and fetch nothing',
    async (locale) => {
      const { context, page } = await newPage(locale);
      const requests: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('data:') && r.url() !== 'about:blank') requests.push(r.url());
      });
      for (const { name, brand } of LOOKS) {
        const mails = {
          link: deliveryMail({
            orderRef: 'ord-m',
            cardCount: 2,
            link: 'https://cards.example/d/x',
            expiresAt: new Date(),
            locale,
            brand,
          }),
          replacement: deliveryMail({
            orderRef: 'ord-m',
            cardCount: 1,
            link: 'https://cards.example/d/y',
            expiresAt: new Date(),
            replacesEarlier: true,
            locale,
            brand,
          }),
          notice: noticeMail({
            orderRef: 'ord-m',
            kind: 'deadline',
            deliveredCards: 1,
            quantity: 3,
            locale,
            brand,
          }),
        };
        for (const [kind, mail] of Object.entries(mails)) {
          expect(mail.text.length).toBeGreaterThan(50);
          expect(mail.html).toContain(`<html lang="${locale}">`);
          await page.setContent(mail.html);
          await expectAccessible(page, `${name}-${locale}-mail-${kind}`);
          if (kind === 'link') await shoot(page, `${name}-${locale}-mail-link`);
        }
      }
      expect(requests).toEqual([]);
      await context.close();
    },
    60_000,
  );

  afterAll(() => {
    console.log(`axe (WCAG 2.x A/AA):\n${axeSummary.join('\n')}`);
  });
});
