/** The business's look: validated at start-up, AA contrast or no start, the default for unknown callers. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import { describe, expect, it } from 'vitest';
import { contrastRatio, customerSettings, DEFAULT_BRAND, parseBrands } from '../../domain/brand';
import { LOGO_MAX_BYTES } from '../../domain/brand-logo';
import {
  deliveryMail,
  loadNoticeTemplates,
  noticeMail,
  type RenderedMail,
} from '../../domain/mail/templates';
import { repoRoot } from '../../lib/config';

const ACME_LOGO = path.join(repoRoot, 'test', 'fixtures', 'acme-logo.png');

function withLogo(file: string) {
  return parseBrands(JSON.stringify({ acme: { displayName: 'Acme Rewards', logo: file } })).of('acme');
}

/** The message as nodemailer writes it to the SMTP server. */
async function composed(mail: RenderedMail): Promise<string> {
  const message = new MailComposer({
    from: 'Gift cards <no-reply@example.com>',
    to: 'someone@example.com',
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    ...(mail.attachments ? { attachments: mail.attachments } : {}),
  });
  return (await message.compile().build()).toString('utf8');
}

describe('BRANDS', () => {
  it('gives each caller its brand and everyone else the default', () => {
    const brands = parseBrands(
      JSON.stringify({ default: { displayName: 'Shop' }, acme: { displayName: 'Acme', accent: '#7a1fa2' } }),
    );
    expect(brands.of('acme').displayName).toBe('Acme');
    expect(brands.of('acme').onAccent).toBe('#ffffff');
    expect(brands.of('other').displayName).toBe('Shop');
    expect(brands.of(null).displayName).toBe('Shop');
    expect(parseBrands(undefined).of('acme')).toEqual(DEFAULT_BRAND);
  });

  it('refuses colours a page could not keep AA with, naming the caller and the pair', () => {
    expect(() => parseBrands(JSON.stringify({ acme: { displayName: 'Acme', accent: '#ffcc00' } }))).toThrow(
      /BRANDS\.acme: onAccent on accent contrast 1\.\d+:1 is below AA/,
    );
    expect(() => parseBrands(JSON.stringify({ acme: { displayName: 'Acme', muted: '#aaaaaa' } }))).toThrow(
      /BRANDS\.acme: muted contrast/,
    );
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
  });

  it('refuses malformed settings without echoing them', () => {
    expect(() => parseBrands('{"acme": ')).toThrow(/^BRANDS: not valid JSON$/);
    expect(() => parseBrands(JSON.stringify({ acme: { displayName: 'A', accent: 'red;}' } }))).toThrow(
      /BRANDS\.acme: accent: a colour as #rrggbb/,
    );
    expect(() => parseBrands(JSON.stringify({ acme: { displayName: 'A', logo: 'x' } }))).toThrow(
      /BRANDS\.acme/,
    );
    expect(() =>
      parseBrands(JSON.stringify({ acme: { displayName: 'A', emailLogoUrl: 'http://plain.example/x.png' } })),
    ).toThrow(/emailLogoUrl/);
    expect(() => customerSettings({ DEFAULT_LOCALE: 'pt' })).toThrow(/DEFAULT_LOCALE/);
    expect(customerSettings({ DEFAULT_LOCALE: 'FR-ca' }).defaultLocale).toBe('fr-CA');
  });
});

describe('a brand logo', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'logo-'));
  const file = (name: string, bytes: Buffer | string) => {
    const full = path.join(dir, name);
    writeFileSync(full, bytes);
    return full;
  };
  const png = readFileSync(ACME_LOGO);
  /** A JPEG's start: SOI, a JFIF APP0 segment, then a baseline frame header 48 high and 160 wide. */
  const jpeg = Buffer.from('ffd8ffe000104a46494600010100000100010000ffc0000b08003000a001011100ffd9', 'hex');

  it('is read at start-up: a PNG or a JPEG, with its size, as a data: URI and a stable Content-ID', () => {
    const logo = withLogo(ACME_LOGO).logo!;
    expect(logo.contentType).toBe('image/png');
    expect([logo.width, logo.height]).toEqual([320, 80]);
    expect(logo.dataUri).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(logo.cid).toMatch(/^logo-[0-9a-f]{16}@giftcards$/);
    expect(withLogo(ACME_LOGO).logo!.cid).toBe(logo.cid);
    const j = withLogo(file('logo.jpeg', jpeg)).logo!;
    expect([j.contentType, j.width, j.height, j.filename]).toEqual(['image/jpeg', 160, 48, 'logo.jpg']);
  });

  it('refuses SVG, files that are not what their name says, and oversized ones, naming caller and field', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
    expect(() => withLogo(file('logo.svg', svg))).toThrow(/^BRANDS\.acme: logo: an SVG logo is refused/);
    // A script-carrying document renamed: the first bytes decide, not the name.
    expect(() => withLogo(file('svg.png', svg))).toThrow(
      /BRANDS\.acme: logo: .*svg\.png is not a PNG or JPEG/,
    );
    expect(() => withLogo(file('page.png', '<html><script>x</script>'))).toThrow(/is not a PNG or JPEG/);
    expect(() => withLogo(file('png.jpg', png))).toThrow(/holds image\/png but is named \.jpg/);
    const big = Buffer.concat([png, Buffer.alloc(LOGO_MAX_BYTES)]);
    expect(() => withLogo(file('big.png', big))).toThrow(/bytes; at most 65536/);
    const wide = Buffer.from(png);
    wide.writeUInt32BE(100_000, 16); // IHDR width
    expect(() => withLogo(file('wide.png', wide))).toThrow(/100000×80 pixels; each side 1 to 2048/);
    expect(() => withLogo(path.join(dir, 'missing.png'))).toThrow(/missing\.png is not a readable file/);
    expect(() => withLogo(dir)).toThrow(/is not a readable file/);
    // Start-up refuses it as a configuration error, naming the setting.
    expect(() =>
      customerSettings({
        DEFAULT_LOCALE: 'en',
        BRANDS: JSON.stringify({ default: { displayName: 'Shop', logo: file('x.svg', svg) } }),
      }),
    ).toThrow(/BRANDS\.default: logo/);
  });

  it('travels with the emails as an inline attachment, never as a remote image', async () => {
    const brand = withLogo(ACME_LOGO);
    const mail = deliveryMail({
      orderRef: 'ord-1',
      cardCount: 1,
      link: 'https://cards.example/d/x',
      expiresAt: new Date(),
      locale: 'de',
      brand,
    });
    expect(mail.html).toContain(`<img src="cid:${brand.logo!.cid}" alt="Acme Rewards"`);
    expect(mail.html).not.toMatch(/src="https?:/);
    expect(mail.text).toContain('Acme Rewards');
    const raw = await composed(mail);
    // alternative(text, related(html, the logo)): clients show it inline and fetch nothing.
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;\r\n boundary=/m);
    expect(raw).toMatch(/^Content-Type: multipart\/related; type="text\/html";\r\n boundary=/m);
    expect(raw).toMatch(/^Content-Type: text\/plain; charset=utf-8\r$/m);
    expect(raw).toMatch(/^Content-Type: image\/png; name=logo\.png\r$/m);
    expect(raw).toContain(`Content-ID: <${brand.logo!.cid}>`);
    expect(raw).toMatch(/^Content-Disposition: inline; filename=logo\.png\r$/m);
    expect(raw.replace(/\r\n/g, '')).toContain(png.toString('base64'));

    // Every kind of email carries it; a business notice template that does not show it carries nothing.
    expect(
      noticeMail({ orderRef: 'o', kind: 'failed', deliveredCards: 0, quantity: 1, brand }).attachments,
    ).toHaveLength(1);
    const dir2 = mkdtempSync(path.join(tmpdir(), 'notice-'));
    writeFileSync(path.join(dir2, 'notice.html'), '<p>{{orderRef}}</p>');
    const own = noticeMail(
      { orderRef: 'o', kind: 'failed', deliveredCards: 0, quantity: 1, brand },
      loadNoticeTemplates(dir2),
    );
    expect(own.attachments).toBeUndefined();
  });

  it('is the configured remote image instead, when the brand names one (emailLogoUrl)', () => {
    const brand = parseBrands(
      JSON.stringify({
        acme: { displayName: 'Acme', logo: ACME_LOGO, emailLogoUrl: 'https://cdn.acme.example/l.png' },
      }),
    ).of('acme');
    const mail = deliveryMail({
      orderRef: 'o',
      cardCount: 1,
      link: 'https://x',
      expiresAt: new Date(),
      brand,
    });
    expect(mail.attachments).toBeUndefined();
    expect(mail.html).not.toContain('cid:');
    expect(mail.html.replaceAll('&#x2F;', '/')).toContain(
      '<img src="https://cdn.acme.example/l.png" alt="Acme"',
    );
  });
});

describe('the link email as sent', () => {
  it('is multipart/alternative: a text part and an HTML part, UTF-8, no attachment', async () => {
    const mail = deliveryMail({
      orderRef: 'ord-1',
      cardCount: 2,
      link: 'https://cards.example/d/x?lang=fr',
      expiresAt: new Date('2026-12-24T18:30:00Z'),
      locale: 'fr',
    });
    const raw = await composed(mail);
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;\r\n boundary=/m);
    expect(raw).toMatch(/^Content-Type: text\/plain; charset=utf-8\r$/m);
    expect(raw).toMatch(/^Content-Type: text\/html; charset=utf-8\r$/m);
    expect(raw).not.toMatch(/Content-Disposition: attachment/);
    expect(mail.text).toContain('https://cards.example/d/x?lang=fr');
    expect(mail.subject).toBe('Vos cartes cadeaux (commande ord-1)');
  });
});
