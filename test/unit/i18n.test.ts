/** Every message in every locale, with the same placeholders as English; the language precedence. */
import { IntlMessageFormat } from 'intl-messageformat';
import { describe, expect, it } from 'vitest';
import {
  CATALOGUES,
  fromAcceptLanguage,
  localeSchema,
  type MessageKey,
  resolveLocale,
  SUPPORTED_LANGUAGES,
  translator,
} from '../../domain/i18n';

/** The argument names a message uses (top level and inside plurals). */
function argumentsOf(message: string): string[] {
  const names = new Set<string>();
  const walk = (elements: ReturnType<IntlMessageFormat['getAst']>) => {
    for (const el of elements) {
      if ('value' in el && typeof el.value === 'string' && el.type !== 0) names.add(el.value);
      if ('options' in el)
        for (const option of Object.values(el.options)) walk((option as { value: typeof elements }).value);
    }
  };
  walk(new IntlMessageFormat(message, 'en').getAst());
  return [...names].sort();
}

const english = CATALOGUES.en;
const keys = Object.keys(english) as MessageKey[];
const sample = {
  orderId: 'ord-1',
  orderRef: 'ord-1',
  support: 'Support',
  count: 2,
  seconds: 30,
  n: 1,
  format: 'Code 128',
  expires: new Date('2026-12-24T18:30:00Z'),
  delivered: 1,
  quantity: 3,
};

describe('message catalogues', () => {
  it.each(SUPPORTED_LANGUAGES)('%s has every English key and no other', (language) => {
    expect(Object.keys(CATALOGUES[language]).sort()).toEqual([...keys].sort());
  });

  it.each(SUPPORTED_LANGUAGES)(
    '%s: every message parses and uses the same placeholders as English',
    (language) => {
      for (const key of keys) {
        expect(argumentsOf(CATALOGUES[language][key]), `${language} ${key}`).toEqual(
          argumentsOf(english[key]),
        );
        const text = translator(language).t(key, sample);
        expect(text.length, `${language} ${key}`).toBeGreaterThan(0);
        expect(text, `${language} ${key}`).not.toMatch(/[{}]/);
      }
    },
  );

  it('writes plurals and dates by locale', () => {
    const expires = new Date('2026-12-24T18:30:00Z');
    expect(translator('en').t('landing.summary', { count: 1, expires })).toMatch(
      /^1 gift card · .*December 24, 2026.*UTC/,
    );
    expect(translator('en').t('landing.summary', { count: 3, expires })).toMatch(/^3 gift cards/);
    expect(translator('de').t('landing.summary', { count: 1, expires })).toMatch(
      /^1 Geschenkkarte · .*24\. Dezember 2026/,
    );
    expect(translator('fr').t('landing.summary', { count: 2, expires })).toMatch(
      /^2 cartes cadeaux · .*24 décembre 2026/,
    );
    expect(translator('es').t('landing.summary', { count: 1, expires })).toMatch(
      /^1 tarjeta regalo · .*24 de diciembre de 2026/,
    );
    expect(translator('ja').t('landing.summary', { count: 2, expires })).toMatch(/2枚.*2026年12月24日/);
  });
});

describe('the customer language', () => {
  it('is the order’s, else the browser’s, else the default', () => {
    expect(resolveLocale('de', 'fr-FR,fr;q=0.9', 'en')).toBe('de');
    expect(resolveLocale(undefined, 'pt-BR, fr-CA;q=0.8, en;q=0.5', 'es')).toBe('fr-CA');
    expect(resolveLocale(null, 'pt-BR, zh;q=0.8', 'es')).toBe('es');
    expect(resolveLocale('xx-invalid-!', undefined, 'ja')).toBe('ja');
    expect(fromAcceptLanguage('en;q=0.1, ja;q=0.9')).toBe('ja');
    expect(fromAcceptLanguage('*')).toBeUndefined();
  });

  it('order locales are validated and canonicalised', () => {
    expect(localeSchema.parse('DE-ch')).toBe('de-CH');
    expect(localeSchema.safeParse('pt-BR').success).toBe(false);
    expect(localeSchema.safeParse('not a tag').success).toBe(false);
  });
});
