/**
 * An order's locale, end to end: the intake request's `locale` reaches the link email (its language, its
 * `?lang=`), the pages behind the link speak it, and a notice is written in it too; the provider's
 * barcodeFormat is not sent by the sandbox's default cards, so the page draws Code 128 and a QR code.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForMail } from '../helpers/mailbox';
import { waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';

let p: Pipeline;

beforeAll(async () => {
  p = await startPipeline();
}, 120_000);

afterAll(async () => {
  await p?.stop();
});

it('the link email and the pages behind it are in the order’s language', async () => {
  const orderId = uniqueOrderId('instant');
  const email = uniqueRecipient();
  await p.start({ orderId, userId: 'u-locale', email, locale: 'de' });
  const [mail] = await waitForMail(email);
  expect(mail!.subject).toBe(`Ihre Geschenkkarten (Bestellung ${orderId})`);
  expect(mail!.html).toContain('<html lang="de">');
  const link = mail!.text.match(/https?:\/\/\S+\/d\/[A-Za-z0-9_-]{43}\?lang=de/)?.[0];
  expect(link).toBeDefined();

  // The browser asks for English; the order's German wins.
  const landing = await fetch(link!, { headers: { 'accept-language': 'en-US,en;q=0.9' } });
  expect(landing.status).toBe(200);
  expect(landing.headers.get('content-language')).toBe('de');
  const html = await landing.text();
  expect(html).toContain('<html lang="de">');
  expect(html).toContain('Ihre Geschenkkarten sind bereit');
  expect(html).toContain('action="/d/');
  // Mustache escapes "=" in the attribute (&#x3D;); the browser posts to /reveal?lang=de.
  expect(html.replaceAll('&#x3D;', '=')).toContain('/reveal?lang=de"');

  const revealed = await fetch(link!.replace('?lang=de', '/reveal?lang=de'), { method: 'POST' });
  expect(revealed.status).toBe(200);
  const page = await revealed.text();
  expect(page).toContain('<html lang="de">');
  expect(page).toContain('Code kopieren');
  expect(page).toMatch(/<svg role="img" aria-label="Strichcode \(Code 128\)[^"]*" class="barcode"/);
  expect(page).toMatch(/<svg role="img" aria-label="QR-Code[^"]*" class="qrcode"/);
}, 90_000);

it('a notice is written in the order’s language', async () => {
  const orderId = uniqueOrderId('failed');
  const email = uniqueRecipient();
  await p.start({ orderId, userId: 'u-locale', email, locale: 'es' });
  await waitForStatus(p.client, orderId, (s) => s.outcome === 'FAILED');
  const [mail] = await waitForMail(email);
  expect(mail!.subject).toBe(`Sobre su pedido de tarjetas regalo ${orderId}`);
  expect(mail!.text).toContain('No hemos podido completar su pedido de tarjetas regalo.');
  expect(mail!.html).toContain('<html lang="es">');
}, 90_000);
