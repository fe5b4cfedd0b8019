/**
 * What a customer's page is drawn with: their language and the business's look. The language is the
 * order's (the link's `?lang=`, which the link email carries), else the browser's Accept-Language, else
 * the business default (DEFAULT_LOCALE); the look is the order's caller's brand, else the default brand.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Brand, type Brands, parseBrands } from '../../domain/brand';
import { resolveLocale, type Translator, translator } from '../../domain/i18n';

export interface CustomerPageSettings {
  defaultLocale: string;
  brands: Brands;
}

declare module 'fastify' {
  interface FastifyInstance {
    customerPages: CustomerPageSettings;
  }
}

const FALLBACK: CustomerPageSettings = { defaultLocale: 'en', brands: parseBrands(undefined) };

export function addCustomerPages(app: FastifyInstance, settings: Partial<CustomerPageSettings>): void {
  app.decorate('customerPages', { ...FALLBACK, ...settings });
}

export interface PageContext extends Translator {
  brand: Brand;
  /** Who to contact, in the page's language: the brand's support name, else the merchant's support. */
  support: string;
}

export function pageContext(request: FastifyRequest, caller?: string | null): PageContext {
  const settings = (request.server as Partial<FastifyInstance>).customerPages ?? FALLBACK;
  const query = (request.query ?? {}) as { lang?: unknown };
  const orderLocale = typeof query.lang === 'string' ? query.lang : undefined;
  const header = request.headers['accept-language'];
  const locale = resolveLocale(
    orderLocale,
    typeof header === 'string' ? header : undefined,
    settings.defaultLocale,
  );
  return contextFor(locale, settings.brands.of(caller));
}

/** A page's context for a known locale and brand (emails' previews, tests). */
export function contextFor(locale: string, brand: Brand): PageContext {
  const tr = translator(locale);
  return { ...tr, brand, support: brand.support?.name ?? tr.t('support.default') };
}
