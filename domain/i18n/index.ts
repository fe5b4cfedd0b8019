/**
 * Messages in the customer's language: ICU MessageFormat (intl-messageformat) for plurals and dates, one
 * catalogue per language (en.ts is the reference; test/unit/i18n.test.ts checks every key exists and parses
 * in every locale). Dates are written in UTC with the zone named, in the locale's own style.
 */
import { IntlMessageFormat } from 'intl-messageformat';
import type { Catalogue } from './catalogue';
import { de } from './de';
import { en, type MessageKey } from './en';
import { es } from './es';
import { fr } from './fr';
import { ja } from './ja';
import { type Language, languageOf } from './locales';

export type { MessageKey } from './en';
export * from './locales';

export const CATALOGUES: Record<Language, Catalogue> = { en, de, fr, es, ja };

/** `{when, date, utc}`: a long date and a short time, in UTC, the zone named. */
const FORMATS = {
  date: {
    utc: {
      year: 'numeric',
      month: 'long',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZone: 'UTC',
      timeZoneName: 'short',
    },
  },
} as const;

const compiled = new Map<string, IntlMessageFormat>();

export type MessageValues = Record<string, string | number | Date>;

export type Translate = (key: MessageKey, values?: MessageValues) => string;

export interface Translator {
  /** The canonical locale (for `lang` attributes and date styles). */
  locale: string;
  language: Language;
  t: Translate;
}

export function translator(locale: string): Translator {
  const language = languageOf(locale);
  const catalogue = CATALOGUES[language];
  const t: Translate = (key, values) => {
    const cacheKey = `${locale}\u0000${key}`;
    let format = compiled.get(cacheKey);
    if (!format) {
      format = new IntlMessageFormat(catalogue[key], locale, FORMATS);
      compiled.set(cacheKey, format);
    }
    return String(format.format(values));
  };
  return { locale, language, t };
}
