/**
 * The customer's link pages, in their language and the business's look (api/http/customer-page.ts).
 * Card codes appear only in the reveal page and the downloads: as text, and as a barcode and a QR code
 * drawn here as inline SVG (barcodes.ts), never as a request the browser makes.
 */
import { readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import type { Card } from '../../domain/cards';
import type { PageContext } from '../http/customer-page';
import { renderPage } from '../http/html-layout';
import { cardSymbols, FORMAT_NAMES, labelledSvg } from './barcodes';

/** How long a copied code stays on the clipboard before the page clears it (where the browser lets it). */
const CLIPBOARD_CLEAR_MS = 30_000;

const STYLE = `  .actions { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1.5rem 0; }
  button.secondary { background: var(--bg); color: var(--accent); }
  ol.cards { padding-left: 0; list-style: none; }
  ol.cards li { margin: 1rem 0; padding: 1rem; border: 1px solid var(--muted); border-radius: .4rem; break-inside: avoid; }
  ol.cards h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
  code { font-size: 1.15rem; letter-spacing: .05em; background: #f1f3f4; color: #1d1d1f; padding: .1rem .4rem; border-radius: .2rem; }
  .label { color: var(--muted); font-size: .9rem; margin-right: .3rem; }
  .symbols { display: flex; gap: 1rem; flex-wrap: wrap; align-items: center; margin-top: .6rem; }
  .symbols svg { max-width: 100%; height: auto; }
  .copy-status { min-height: 1.5em; margin: .3rem 0; }`;

const LANDING = `<h1>{{heading}}</h1>
<p>{{orderRef}}</p>
<p>{{summary}}</p>
<p>{{once}}</p>
<div class="actions">
  <form method="post" action="/d/{{token}}/reveal{{query}}"><button type="submit" id="reveal">{{reveal}}</button></form>
  <form method="post" action="/d/{{token}}/download{{query}}"><button type="submit" id="download" class="secondary">{{downloadText}}</button></form>
  <form method="post" action="/d/{{token}}/download{{query}}"><input type="hidden" name="format" value="pdf"><button type="submit" id="download-pdf" class="secondary">{{downloadPdf}}</button></form>
</div>
<p class="note">{{privacy}}</p>
`;

const REVEAL = `<h1>{{title}}</h1>
<p>{{orderRef}}</p>
<section id="cards" aria-label="{{title}}" data-visible-ms="{{visibleMs}}" data-clear-ms="{{clearMs}}"
  data-msg-copied="{{msgCopied}}" data-msg-kept="{{msgKept}}" data-msg-cleared="{{msgCleared}}" data-msg-failed="{{msgFailed}}">
  <ol class="cards">
  {{#cards}}
    <li class="card">
      <h2>{{heading}}</h2>
      <p><span class="label">{{codeLabel}}</span><code id="code-{{n}}" class="card-value">{{value}}</code>
        <button type="button" class="copy secondary no-print" data-code="code-{{n}}" aria-describedby="copy-status-{{n}}">{{copyLabel}}</button></p>
      <p class="copy-status no-print" id="copy-status-{{n}}" role="status"></p>
      <p><span class="label">{{serialLabel}}</span><code class="card-serial">{{serial}}</code></p>
      {{#hasSymbols}}<div class="symbols">{{{barcode}}}{{{qr}}}</div>{{/hasSymbols}}
    </li>
  {{/cards}}
  </ol>
  <p class="note no-print">{{clipboardCaution}}</p>
  <p>{{hideAfter}} <span class="no-print">{{secondsLeft}} <span id="seconds">{{visibleSeconds}}</span></span></p>
  <div class="actions"><button type="button" id="print" class="secondary">{{print}}</button><button type="button" id="hide" class="secondary">{{hideNow}}</button></div>
</section>
<section id="hidden-notice" hidden>
  <h2>{{hiddenHeading}}</h2>
  <p>{{hiddenText}}</p>
</section>
<noscript><p class="note">{{noscript}}</p></noscript>
<script nonce="{{nonce}}">
(function () {
  var cards = document.getElementById('cards');
  var notice = document.getElementById('hidden-notice');
  var seconds = document.getElementById('seconds');
  var visibleMs = Number(cards.getAttribute('data-visible-ms')) || 60000;
  var deadline = Date.now() + visibleMs;
  var ticker;
  var copied = false;
  var clearTimer;
  function say(el, name) { el.textContent = cards.getAttribute('data-msg-' + name); }
  // Clears the clipboard if this page put a code there; a browser that refuses (page not focused, no
  // permission) leaves it, and the status says so.
  function clearClipboard(status) {
    clearTimeout(clearTimer);
    if (!copied || !navigator.clipboard) return;
    navigator.clipboard.writeText('').then(function () {
      copied = false;
      if (status) say(status, 'cleared');
    }, function () {
      if (status) say(status, 'kept');
    });
  }
  function hide() {
    clearInterval(ticker);
    clearClipboard(null);
    if (cards.parentNode) cards.parentNode.removeChild(cards);
    notice.hidden = false;
  }
  Array.prototype.forEach.call(document.querySelectorAll('button.copy'), function (button) {
    button.addEventListener('click', function () {
      var code = document.getElementById(button.getAttribute('data-code')).textContent;
      var status = document.getElementById(button.getAttribute('aria-describedby'));
      if (!navigator.clipboard || !navigator.clipboard.writeText) { say(status, 'failed'); return; }
      navigator.clipboard.writeText(code).then(function () {
        copied = true;
        say(status, 'copied');
        clearTimeout(clearTimer);
        var clearMs = Number(cards.getAttribute('data-clear-ms')) || 30000;
        clearTimer = setTimeout(function () { clearClipboard(status); }, clearMs);
      }, function () { say(status, 'failed'); });
    });
  });
  ticker = setInterval(function () {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    seconds.textContent = String(left);
  }, 250);
  setTimeout(hide, visibleMs);
  document.getElementById('hide').addEventListener('click', hide);
  document.getElementById('print').addEventListener('click', function () { window.print(); });
  // Leaving the page (or a back-forward cache snapshot) must not keep the codes on screen.
  window.addEventListener('pagehide', hide);
})();
</script>
`;

function frame(page: PageContext) {
  return {
    lang: page.locale,
    brand: page.brand,
    branded: true,
    footer: page.t('page.support', { support: page.support }),
  };
}

export function landingPage(
  page: PageContext,
  view: {
    nonce: string;
    token: string;
    /** The order's locale as the link carries it (`?lang=`), kept on the forms. */
    lang?: string;
    orderId: string;
    cardCount: number;
    expiresAt: Date;
    visibleMs: number;
  },
): string {
  const { t } = page;
  const seconds = Math.round(view.visibleMs / 1000);
  return renderPage(
    { body: LANDING, style: STYLE },
    {
      ...frame(page),
      title: t('page.title'),
      nonce: view.nonce,
      token: view.token,
      query: view.lang ? `?lang=${encodeURIComponent(view.lang)}` : '',
      heading: t('landing.heading'),
      orderRef: t('page.orderRef', { orderId: view.orderId }),
      summary: t('landing.summary', { count: view.cardCount, expires: view.expiresAt }),
      once: t('landing.once', { seconds }),
      reveal: t('landing.reveal'),
      downloadText: t('landing.downloadText'),
      downloadPdf: t('landing.downloadPdf'),
      privacy: t('landing.privacy'),
    },
  );
}

export function revealPage(
  page: PageContext,
  view: {
    nonce: string;
    orderId: string;
    cards: ReadonlyArray<Card>;
    visibleMs: number;
    /** How long a copied code stays on the clipboard (tests shorten it). */
    clipboardClearMs?: number;
  },
): string {
  const { t } = page;
  const clearMs = view.clipboardClearMs ?? CLIPBOARD_CLEAR_MS;
  const clearSeconds = Math.max(1, Math.round(clearMs / 1000));
  const cards = view.cards.map((card, i) => {
    const symbols = cardSymbols(card.value, card.barcodeFormat);
    return {
      n: i + 1,
      heading: t('reveal.card', { n: i + 1 }),
      codeLabel: t('reveal.code'),
      serialLabel: t('reveal.serial'),
      copyLabel: t('reveal.copy'),
      value: card.value,
      serial: card.serial,
      hasSymbols: symbols !== undefined,
      barcode: symbols
        ? labelledSvg(
            symbols.barcode,
            symbols.format === 'qrcode'
              ? t('reveal.qrcode')
              : t('reveal.barcode', { format: FORMAT_NAMES[symbols.format] }),
            symbols.format === 'qrcode' ? 'qrcode' : 'barcode',
          )
        : '',
      qr: symbols?.qr ? labelledSvg(symbols.qr, t('reveal.qrcode'), 'qrcode') : '',
    };
  });
  return renderPage(
    { body: REVEAL, style: STYLE },
    {
      ...frame(page),
      title: t('page.title'),
      nonce: view.nonce,
      orderRef: t('page.orderRef', { orderId: view.orderId }),
      cards,
      visibleMs: view.visibleMs,
      visibleSeconds: Math.ceil(view.visibleMs / 1000),
      clearMs,
      msgCopied: t('reveal.copied', { seconds: clearSeconds }),
      msgKept: t('reveal.copiedKept'),
      msgCleared: t('reveal.cleared'),
      msgFailed: t('reveal.copyFailed'),
      clipboardCaution: t('reveal.clipboardCaution', { seconds: clearSeconds }),
      hideAfter: t('reveal.hideAfter', { seconds: Math.ceil(view.visibleMs / 1000) }),
      secondsLeft: t('reveal.secondsLeft'),
      print: t('reveal.print'),
      hideNow: t('reveal.hideNow'),
      hiddenHeading: t('reveal.hiddenHeading'),
      hiddenText: t('reveal.hiddenText', { support: page.support, orderId: view.orderId }),
      noscript: t('reveal.noscript', { support: page.support, orderId: view.orderId }),
    },
  );
}

/** The text file a Download returns: UTF-8 with a byte order mark, CRLF lines, in the page's language. */
export function cardsText(page: PageContext, orderId: string, cards: ReadonlyArray<Card>): string {
  const { t } = page;
  const lines = [page.brand.displayName, t('download.title', { orderId }), ''];
  cards.forEach((card, i) => {
    lines.push(
      t('reveal.card', { n: i + 1 }),
      `${t('reveal.code')}: ${card.value}`,
      `${t('reveal.serial')}: ${card.serial}`,
      '',
    );
  });
  lines.push(t('download.private'), '');
  return `\uFEFF${lines.join('\r\n')}`;
}

/**
 * Noto Sans JP (OFL, @expo-google-fonts/noto-sans-jp), for the text the standard PDF fonts cannot write:
 * they cover Latin scripts only. Read once, on the first PDF that needs it; pdfkit embeds only the glyphs
 * a document uses.
 */
const NOTO_SANS_JP = require.resolve('@expo-google-fonts/noto-sans-jp/400Regular/NotoSansJP_400Regular.ttf');
let notoSansJp: Buffer | undefined;
function wideFont(): Buffer {
  notoSansJp ??= readFileSync(NOTO_SANS_JP);
  return notoSansJp;
}

/** What the standard fonts write (WinAnsiEncoding: Latin-1 and a few typographic marks); the rest is wide. */
const WIN_ANSI =
  /^[\u0020-\u007E\u00A0-\u00FF\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192\u02C6\u02DC\u2013\u2014\u2018-\u201A\u201C-\u201E\u2020-\u2022\u2026\u2030\u2039\u203A\u20AC\u2122]*$/;

/**
 * The PDF a Download returns: one card per block, the code in a monospaced face. Labels and names are in
 * the page's language: Helvetica where it can write them, Noto Sans JP otherwise (Japanese, or a brand's
 * name in another script). Codes and serials are ASCII, in Courier.
 */
export function cardsPdf(page: PageContext, orderId: string, cards: ReadonlyArray<Card>): Promise<Buffer> {
  const { t } = page;
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4',
      margin: 56,
      // Non-ASCII info strings are written as UTF-16: any script is fine here.
      info: { Title: t('download.title', { orderId }), Author: page.brand.displayName },
      lang: page.locale,
      pdfVersion: '1.7',
    } as PDFKit.PDFDocumentOptions);
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    let wideRegistered = false;
    /** Sets the face that can write `text`: the standard one named, else Noto Sans JP. */
    const face = (text: string, standard: string) => {
      if (WIN_ANSI.test(text)) return doc.font(standard);
      if (!wideRegistered) {
        doc.registerFont('NotoSansJP', wideFont());
        wideRegistered = true;
      }
      return doc.font('NotoSansJP');
    };
    const name = page.brand.displayName;
    face(name, 'Helvetica-Bold').fontSize(16).text(name);
    const title = t('download.title', { orderId });
    face(title, 'Helvetica').fontSize(12).text(title).moveDown();
    cards.forEach((card, i) => {
      const heading = t('reveal.card', { n: i + 1 });
      face(heading, 'Helvetica-Bold').fontSize(12).text(heading);
      const code = `${t('reveal.code')}: `;
      face(code, 'Helvetica').fontSize(11).text(code, { continued: true });
      doc.font('Courier-Bold').fontSize(13).text(card.value);
      const serial = `${t('reveal.serial')}: `;
      face(serial, 'Helvetica').fontSize(11).text(serial, { continued: true });
      doc.font('Courier').fontSize(11).text(card.serial).moveDown();
    });
    const note = t('download.private');
    face(note, 'Helvetica-Oblique').fontSize(10).text(note);
    doc.end();
  });
}
