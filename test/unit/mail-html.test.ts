/**
 * Every email's HTML, judged by a validator no one here wrote (html-validate: its standard, accessibility
 * and document rules; not its style rules, since mail clients need inline styles): every kind, in every language, with the default look and with a branded caller's logo.
 */
import path from 'node:path';
import { HtmlValidate } from 'html-validate';
import { describe, expect, it } from 'vitest';
import { parseBrands } from '../../domain/brand';
import { SUPPORTED_LANGUAGES } from '../../domain/i18n';
import { deliveryMail, noticeMail, type RenderedMail } from '../../domain/mail/templates';
import { repoRoot } from '../../lib/config';

const validator = new HtmlValidate({
  extends: ['html-validate:standard', 'html-validate:a11y', 'html-validate:document'],
});

const acme = parseBrands(
  JSON.stringify({
    acme: {
      displayName: 'Acme Rewards',
      logo: path.join(repoRoot, 'test', 'fixtures', 'acme-logo.png'),
      support: { name: 'Acme support', email: 'help@acme.example' },
    },
  }),
).of('acme');

function everyMail(locale: string, brand: typeof acme | undefined): [string, RenderedMail][] {
  const link = { orderRef: 'ord-7', cardCount: 2, link: 'https://x.example/d/t', expiresAt: new Date(0) };
  const notice = { orderRef: 'ord-7', deliveredCards: 1, quantity: 3, locale, brand };
  return [
    ['link', deliveryMail({ ...link, locale, brand })],
    ['replacement', deliveryMail({ ...link, replacesEarlier: true, locale, brand })],
    ...(['failed', 'cancelled', 'deadline', 'recipient-changed'] as const).map(
      (kind): [string, RenderedMail] => [kind, noticeMail({ ...notice, kind })],
    ),
  ];
}

describe('every email', () => {
  it('is judged by a validator that does find faults', async () => {
    const html = deliveryMail({
      orderRef: 'o',
      cardCount: 1,
      link: 'https://x',
      expiresAt: new Date(0),
    }).html;
    const broken = await validator.validateString(html.replace('</title>', '').replace('alt=', 'data-alt='));
    expect(broken.valid).toBe(false);
  });

  for (const locale of SUPPORTED_LANGUAGES)
    for (const [look, brand] of [
      ['default', undefined],
      ['acme', acme],
    ] as const)
      it(`passes html-validate (${locale}, ${look})`, async () => {
        for (const [kind, mail] of everyMail(locale, brand)) {
          const report = await validator.validateString(mail.html);
          const found = report.results.flatMap((r) => r.messages.map((m) => `${m.ruleId}: ${m.message}`));
          expect({ kind, found }).toEqual({ kind, found: [] });
        }
      });
});
