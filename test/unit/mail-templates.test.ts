/** The notice's wording: honest by default, the business's own when it supplies templates, never a code. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBrands } from '../../domain/brand';
import { deliveryMail, loadNoticeTemplates, noticeMail } from '../../domain/mail/templates';

const partial = { orderRef: 'ord-7', kind: 'deadline' as const, deliveredCards: 2, quantity: 5 };

describe('notice emails', () => {
  it('say what was and was not delivered, and nothing about charges', () => {
    const none = noticeMail({ ...partial, kind: 'failed', deliveredCards: 0 });
    expect(none.text).toContain('We could not complete your gift card order. No card could be delivered.');
    const some = noticeMail(partial);
    expect(some.text).toContain('could not be completed in time. 2 of 5 cards were delivered');
    expect(some.subject).toBe('About your gift card order ord-7');
    for (const mail of [none, some]) expect(`${mail.text}${mail.html}`).not.toMatch(/charge|refund/i);
  });

  it("take the business's own wording from MAIL_TEMPLATES_DIR, with the documented variables", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'notice-'));
    writeFileSync(path.join(dir, 'notice.subject.txt'), 'Order {{orderRef}}: an update');
    writeFileSync(
      path.join(dir, 'notice.txt'),
      '{{#deadline}}Late.{{/deadline}} {{deliveredCards}}/{{quantity}} sent.{{#someDelivered}} Our support will call you.{{/someDelivered}}',
    );
    const mail = noticeMail(partial, loadNoticeTemplates(dir));
    expect(mail.subject).toBe('Order ord-7: an update');
    expect(mail.text).toBe('Late. 2/5 sent. Our support will call you.');
    expect(mail.html).toBe(
      noticeMail(partial).html.replace(
        '<title>About your gift card order ord-7</title>',
        '<title>Order ord-7: an update</title>',
      ),
    ); // no notice.html: the default's, with the new subject
  });

  it('refuse a template that does not parse, naming its file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'notice-'));
    writeFileSync(path.join(dir, 'notice.html'), '<p>{{#failed}}unclosed</p>');
    expect(() => loadNoticeTemplates(dir)).toThrow(
      /MAIL_TEMPLATES_DIR: notice\.html is not a valid Mustache template/,
    );
  });

  it('tell a previous address that the cards went elsewhere: no link, no code, no new address, whatever the business templates say', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'notice-'));
    writeFileSync(path.join(dir, 'notice.txt'), '{{#failed}}Sorry.{{/failed}}');
    for (const templates of [{}, loadNoticeTemplates(dir)]) {
      const mail = noticeMail(
        { orderRef: 'ord-9', kind: 'recipient-changed', deliveredCards: 3, quantity: 3 },
        templates,
      );
      expect(mail.kind).toBe('notice');
      expect(mail.subject).toBe('Your gift card order ord-9 was sent to another address');
      expect(mail.text).toContain('could not be delivered to this address');
      expect(mail.text).toContain('The earlier link no longer works');
      const all = `${mail.subject}${mail.text}${mail.html}`;
      expect(all).not.toMatch(/https?:|\/d\/|@/);
    }
  });

  it("speak the customer's language, in the caller's brand", () => {
    const brand = parseBrands(
      JSON.stringify({ acme: { displayName: 'Acme Rewards', support: { email: 'help@acme.example' } } }),
    ).of('acme');
    const de = noticeMail({ ...partial, locale: 'de', brand });
    expect(de.subject).toBe('Zu Ihrer Geschenkkarten-Bestellung ord-7');
    expect(de.text).toContain('2 von 5 Karten wurden');
    expect(de.html).toContain('<html lang="de">');
    expect(de.text).toContain('Acme Rewards');
    expect(de.text).toContain('help@acme.example');
    const ja = deliveryMail({
      orderRef: 'ord-7',
      cardCount: 3,
      link: 'https://cards.example/d/x?lang=ja',
      expiresAt: new Date('2026-12-24T18:30:00Z'),
      locale: 'ja',
    });
    expect(ja.text).toContain('3枚');
    expect(ja.text).toContain('2026年12月24日');
    expect(ja.html).toContain('<html lang="ja">');
  });

  it('are self-contained: a text part, no script, no stylesheet, no remote image unless configured', () => {
    const plain = deliveryMail({ orderRef: 'o', cardCount: 1, link: 'https://x/d/t', expiresAt: new Date() });
    expect(plain.text).toContain('https://x/d/t');
    expect(plain.html).not.toMatch(/<script|<link|<img|<style|url\(/i);
    const logo = parseBrands(
      JSON.stringify({ default: { displayName: 'Acme', emailLogoUrl: 'https://cdn.acme.example/logo.png' } }),
    ).of(null);
    const branded = deliveryMail({
      orderRef: 'o',
      cardCount: 1,
      link: 'https://x',
      expiresAt: new Date(),
      brand: logo,
    });
    expect(branded.html.replaceAll('&#x2F;', '/')).toContain(
      '<img src="https://cdn.acme.example/logo.png" alt="Acme"',
    );
  });
});
