/**
 * The customer's language (docs/customer-page.md): the order's `locale` when it has one, else the browser's
 * Accept-Language, else the business's default (DEFAULT_LOCALE). A locale is a BCP 47 tag whose language
 * has messages here; its region (en-GB, fr-CA) still shapes how dates are written.
 */
import { z } from 'zod';

export const SUPPORTED_LANGUAGES = ['en', 'de', 'fr', 'es', 'ja'] as const;
export type Language = (typeof SUPPORTED_LANGUAGES)[number];

/** The canonical form of a tag whose language has messages, or undefined (malformed, or unsupported). */
export function supportedLocale(tag: string): string | undefined {
  if (tag.length === 0 || tag.length > 35) return undefined;
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    if (!canonical) return undefined;
    const language = new Intl.Locale(canonical).language;
    return (SUPPORTED_LANGUAGES as readonly string[]).includes(language) ? canonical : undefined;
  } catch {
    return undefined;
  }
}

export function languageOf(locale: string): Language {
  const language = new Intl.Locale(locale).language;
  return (SUPPORTED_LANGUAGES as readonly string[]).includes(language) ? (language as Language) : 'en';
}

/** An order's locale, as the intake API, the CLI and the configuration accept it. */
export const localeSchema = z
  .string()
  .refine((tag) => supportedLocale(tag) !== undefined, {
    message: `a BCP 47 language tag in one of: ${SUPPORTED_LANGUAGES.join(', ')} (e.g. "de" or "fr-CA")`,
  })
  .transform((tag) => supportedLocale(tag)!);

/**
 * The best supported locale an Accept-Language header asks for (quality values honoured, "*" ignored), or
 * undefined. Malformed entries are skipped: the header is the browser's, never an error.
 */
export function fromAcceptLanguage(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const ranked = header
    .slice(0, 1000)
    .split(',')
    .map((entry, index) => {
      const [tag = '', ...params] = entry.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const quality = q ? Number(q.slice(2)) : 1;
      return { tag: tag.trim(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((e) => e.tag !== '*' && e.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const { tag } of ranked) {
    const locale = supportedLocale(tag);
    if (locale) return locale;
  }
  return undefined;
}

/** The precedence every page and email follows. */
export function resolveLocale(
  orderLocale: string | null | undefined,
  acceptLanguage: string | undefined,
  defaultLocale: string,
): string {
  return (
    (orderLocale ? supportedLocale(orderLocale) : undefined) ??
    fromAcceptLanguage(acceptLanguage) ??
    defaultLocale
  );
}
