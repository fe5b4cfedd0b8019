/**
 * The one HTML frame of every page the API serves (link pages, operator sign-in). Mustache with `{{ }}`
 * only, so every value is HTML-escaped; the inline style carries the response's CSP nonce. Pages add their
 * own rules and body as partials (templates of this code, never data). `lang` is the page's language; the
 * brand's colours (validated #rrggbb, contrast-checked at start-up: domain/brand.ts) become CSS variables;
 * its logo (a PNG or JPEG checked at start-up) is a `data:` image, the only image source the CSP allows.
 */
import Mustache from 'mustache';
import { type Brand, DEFAULT_BRAND } from '../../domain/brand';
import type { Logo } from '../../domain/brand-logo';

const LAYOUT = `<!doctype html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{{title}}</title>
<style nonce="{{nonce}}">
  :root { --accent: {{brand.accent}}; --on-accent: {{brand.onAccent}}; --text: {{brand.text}}; --bg: {{brand.background}}; --muted: {{brand.muted}}; }
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: var(--text); background: var(--bg); line-height: 1.5; }
  h1 { font-size: 1.5rem; }
  a { color: var(--accent); }
  button { font: inherit; padding: .6rem 1.4rem; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
  button:focus-visible { outline: 3px solid var(--text); outline-offset: 2px; }
  .note { color: var(--muted); font-size: .9rem; }
  header.brand { font-weight: 600; color: var(--text); border-bottom: 2px solid var(--accent); padding-bottom: .4rem; }
  header.brand img { display: block; max-width: 100%; height: auto; }
  footer { margin-top: 2rem; color: var(--muted); font-size: .9rem; }
  @media print { button, .actions, .no-print { display: none !important; } body { margin: 0; } }
{{> style}}
</style>
</head>
<body>
{{#brandHeader}}<header class="brand">{{#logo}}<img src="{{dataUri}}" alt="{{brand.displayName}}" width="{{width}}" height="{{height}}">{{/logo}}{{^logo}}{{brand.displayName}}{{/logo}}</header>{{/brandHeader}}
<main>
{{> body}}
</main>
{{#footer}}<footer>{{footer}}{{#supportEmail}} · <a href="mailto:{{supportEmail}}">{{supportEmail}}</a>{{/supportEmail}}{{#supportUrl}} · <a href="{{supportUrl}}" rel="noreferrer">{{supportUrl}}</a>{{/supportUrl}}</footer>{{/footer}}
</body>
</html>
`;

export interface PageFrame {
  /** A BCP 47 tag; "en" when not given (operator pages). */
  lang?: string;
  brand?: Brand;
  /** A header with the brand's name and a footer with its support contact (the customer's pages). */
  branded?: boolean;
  /** The footer's text, already in the page's language. */
  footer?: string;
}

/** The header draws a logo 40 pixels high (its width in proportion), so the page does not move as it loads. */
const LOGO_HEIGHT = 40;

function logoBox(logo: Logo): { dataUri: string; width: number; height: number } {
  return {
    dataUri: logo.dataUri,
    width: Math.max(1, Math.round((logo.width * LOGO_HEIGHT) / logo.height)),
    height: LOGO_HEIGHT,
  };
}

export function renderPage(
  parts: { body: string; style: string },
  view: { title: string; nonce: string } & PageFrame & Record<string, unknown>,
): string {
  const brand = view.brand ?? DEFAULT_BRAND;
  return Mustache.render(
    LAYOUT,
    {
      ...view,
      lang: view.lang ?? 'en',
      brand,
      brandHeader: view.branded === true,
      logo: brand.logo && logoBox(brand.logo),
      footer: view.branded ? view.footer : undefined,
      supportEmail: view.branded ? brand.support?.email : undefined,
      supportUrl: view.branded ? brand.support?.url : undefined,
    },
    parts,
  );
}
