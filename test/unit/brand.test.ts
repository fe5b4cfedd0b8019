/** The business's look: validated at start-up, AA contrast or no start, the default for unknown callers. */
import MailComposer from 'nodemailer/lib/mail-composer';
import { describe, expect, it } from 'vitest';
import { contrastRatio, customerSettings, DEFAULT_BRAND, parseBrands } from '../../domain/brand';
import { deliveryMail } from '../../domain/mail/templates';

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

describe('the link email as sent', () => {
  it('is multipart/alternative: a text part and an HTML part, UTF-8, no attachment', async () => {
    const mail = deliveryMail({
      orderRef: 'ord-1',
      cardCount: 2,
      link: 'https://cards.example/d/x?lang=fr',
      expiresAt: new Date('2026-12-24T18:30:00Z'),
      locale: 'fr',
    });
    const raw = (
      await new MailComposer({
        from: 'Gift cards <no-reply@example.com>',
        to: 'someone@example.com',
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      })
        .compile()
        .build()
    ).toString('utf8');
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;\r\n boundary=/m);
    expect(raw).toMatch(/^Content-Type: text\/plain; charset=utf-8\r$/m);
    expect(raw).toMatch(/^Content-Type: text\/html; charset=utf-8\r$/m);
    expect(raw).not.toMatch(/Content-Disposition: attachment/);
    expect(mail.text).toContain('https://cards.example/d/x?lang=fr');
    expect(mail.subject).toBe('Vos cartes cadeaux (commande ord-1)');
  });
});
