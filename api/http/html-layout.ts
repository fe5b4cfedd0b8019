/**
 * The one HTML frame of every page the API serves (link pages, operator sign-in). Mustache with `{{ }}`
 * only, so every value is HTML-escaped; the inline style carries the response's CSP nonce. Pages add their
 * own rules and body as partials (templates of this code, never data).
 */
import Mustache from 'mustache';

const LAYOUT = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{{title}}</title>
<style nonce="{{nonce}}">
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; line-height: 1.5; }
  h1 { font-size: 1.5rem; }
  button { font: inherit; padding: .6rem 1.4rem; border-radius: .4rem; border: 1px solid #0b57d0; background: #0b57d0; color: #fff; cursor: pointer; }
  .note { color: #5f6368; font-size: .9rem; }
{{> style}}
</style>
</head>
<body>
<main>
{{> body}}
</main>
</body>
</html>
`;

export function renderPage(
  parts: { body: string; style: string },
  view: { title: string; nonce: string } & object,
): string {
  return Mustache.render(LAYOUT, view, parts);
}
