/**
 * The business's own look, per intake caller and a default (BRANDS): a display name, a logo, colours and a
 * support contact, used by the link pages and the emails. Checked at start-up: colours are #rrggbb and
 * every pair a page draws text with keeps WCAG AA contrast (4.5:1), so a brand cannot make a page fail.
 */
import { z } from 'zod';
import { ConfigError } from '../lib/config';
import { type Logo, loadLogo } from './brand-logo';
import { supportedLocale } from './i18n/locales';

const hex = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb');

const brandSchema = z
  .object({
    displayName: z.string().min(1).max(80),
    /** Buttons and links; text on buttons is `onAccent`. */
    accent: hex.default('#0b57d0'),
    onAccent: hex.default('#ffffff'),
    text: hex.default('#1d1d1f'),
    background: hex.default('#ffffff'),
    /** Secondary text (notes, labels) on the background. */
    muted: hex.default('#5f6368'),
    /**
     * A PNG or JPEG file (brand-logo.ts: type, size and pixels checked here, at start-up), shown with the
     * display name as its alt text: inline on the pages, attached by Content-ID to the emails.
     */
    logo: z
      .string()
      .min(1)
      .transform((file, ctx): Logo => {
        try {
          return loadLogo(file);
        } catch (err) {
          ctx.issues.push({ code: 'custom', message: (err as Error).message, input: file });
          return z.NEVER;
        }
      })
      .optional(),
    /**
     * The emails' logo as a remote https image instead of the attached one: a remote image in an email is
     * a tracking pixel to some mail clients, so there is none unless configured.
     */
    emailLogoUrl: z.url({ protocol: /^https$/ }).optional(),
    support: z
      .object({
        name: z.string().min(1).max(80).optional(),
        email: z.email().max(254).optional(),
        url: z.url({ protocol: /^https?$/ }).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Brand = z.output<typeof brandSchema>;

export const DEFAULT_BRAND: Brand = brandSchema.parse({ displayName: 'Gift cards' });

/** WCAG 2 relative luminance and contrast ratio. */
export function contrastRatio(a: string, b: string): number {
  const lum = (hexColour: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = Number.parseInt(hexColour.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const AA = 4.5;

/** Every text/background pair the pages and emails draw. */
function contrastProblems(brand: Brand): string[] {
  const pairs: Array<[string, string, string]> = [
    ['text', brand.text, brand.background],
    ['muted', brand.muted, brand.background],
    ['onAccent on accent', brand.onAccent, brand.accent],
    ['accent (links, outlined buttons)', brand.accent, brand.background],
  ];
  return pairs
    .filter(([, fg, bg]) => contrastRatio(fg, bg) < AA)
    .map(([name, fg, bg]) => `${name} contrast ${contrastRatio(fg, bg).toFixed(2)}:1 is below AA (4.5:1)`);
}

export interface Brands {
  /** The caller's brand, else the default. */
  of(caller: string | null | undefined): Brand;
}

/**
 * BRANDS: JSON {"default": {...}, "<caller>": {...}}; errors name the caller and the field, never a value.
 * Missing or without "default": the built-in default.
 */
export function parseBrands(json: string | undefined): Brands {
  const map = new Map<string, Brand>();
  if (json) {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch {
      throw new Error('BRANDS: not valid JSON');
    }
    const parsed = z.record(z.string().regex(/^[a-z0-9_-]+$/), z.unknown()).safeParse(raw);
    if (!parsed.success) throw new Error('BRANDS: expected {"default"|"<caller>": {displayName, ...}}');
    for (const [caller, spec] of Object.entries(parsed.data)) {
      const brand = brandSchema.safeParse(spec);
      if (!brand.success) {
        const fields = brand.error.issues.map((i) => `${i.path.join('.') || '(brand)'}: ${i.message}`);
        throw new Error(`BRANDS.${caller}: ${fields.join('; ')}`);
      }
      const problems = contrastProblems(brand.data);
      if (problems.length) throw new Error(`BRANDS.${caller}: ${problems.join('; ')}`);
      map.set(caller, brand.data);
    }
  }
  const fallback = map.get('default') ?? DEFAULT_BRAND;
  return { of: (caller) => (caller ? map.get(caller) : undefined) ?? fallback };
}

/**
 * DEFAULT_LOCALE and BRANDS as the API and the worker use them, checked before anything connects: an
 * unsupported language or a brand failing AA contrast stops start-up, naming the setting.
 */
export function customerSettings(cfg: { DEFAULT_LOCALE: string; BRANDS?: string | undefined }): {
  defaultLocale: string;
  brands: Brands;
} {
  const defaultLocale = supportedLocale(cfg.DEFAULT_LOCALE);
  if (!defaultLocale) throw new ConfigError('DEFAULT_LOCALE: a language with messages (en, de, fr, es, ja)');
  try {
    return { defaultLocale, brands: parseBrands(cfg.BRANDS) };
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}
