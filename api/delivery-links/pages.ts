import { renderPage } from '../http/html-layout';

const STYLE = `  .actions { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1.5rem 0; }
  button.secondary { background: #fff; color: #0b57d0; }
  ol.cards { padding-left: 1.2rem; }
  ol.cards li { margin: .6rem 0; }
  code { font-size: 1.15rem; letter-spacing: .05em; background: #f1f3f4; padding: .1rem .4rem; border-radius: .2rem; }
  .label { color: #5f6368; font-size: .9rem; margin-right: .3rem; }`;

const LANDING = `<h1>Your gift cards are ready</h1>
<p>Order reference: <strong>{{orderId}}</strong></p>
<p>{{cardCount}} {{cardNoun}} &middot; this link is valid until <time datetime="{{expiresIso}}">{{expiresText}}</time></p>
<p>The link works <strong>once</strong>. <em>Reveal</em> shows the codes on this screen for {{visibleSeconds}} seconds;
<em>Download</em> saves them as a text file. Either one uses up the link.</p>
<div class="actions">
  <form method="post" action="/d/{{token}}/reveal"><button type="submit" id="reveal">Reveal</button></form>
  <form method="post" action="/d/{{token}}/download"><button type="submit" id="download" class="secondary">Download</button></form>
</div>
<p class="note">Make sure nobody can see your screen before you reveal the codes.</p>
`;

const REVEAL = `<h1>Your gift cards</h1>
<p>Order reference: <strong>{{orderId}}</strong></p>
<section id="cards" data-visible-ms="{{visibleMs}}">
  <ol class="cards">
  {{#cards}}
    <li class="card"><span class="label">Code</span><code class="card-value">{{value}}</code>
      <span class="label">Serial</span><code class="card-serial">{{serial}}</code></li>
  {{/cards}}
  </ol>
  <p>These codes will be hidden in <span id="seconds">{{visibleSeconds}}</span> seconds. Use them or write them down now.</p>
  <div class="actions"><button type="button" id="hide" class="secondary">Hide now</button></div>
</section>
<section id="hidden-notice" hidden>
  <h2>The codes are now hidden</h2>
  <p>This link could be used only once, so it cannot show the codes again.
  To get a new link, contact the merchant's customer support and give them your order reference <strong>{{orderId}}</strong>.</p>
</section>
<noscript><p class="note">Close this page once you have used or saved your codes. This link cannot show them again;
for a new link, contact the merchant's customer support with order reference {{orderId}}.</p></noscript>
<script nonce="{{nonce}}">
(function () {
  var cards = document.getElementById('cards');
  var notice = document.getElementById('hidden-notice');
  var seconds = document.getElementById('seconds');
  var visibleMs = Number(cards.getAttribute('data-visible-ms')) || 60000;
  var deadline = Date.now() + visibleMs;
  var ticker;
  function hide() {
    clearInterval(ticker);
    if (cards.parentNode) cards.parentNode.removeChild(cards);
    notice.hidden = false;
  }
  ticker = setInterval(function () {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    seconds.textContent = String(left);
  }, 250);
  setTimeout(hide, visibleMs);
  document.getElementById('hide').addEventListener('click', hide);
  // Leaving the page (or a back-forward cache snapshot) must not keep the codes on screen.
  window.addEventListener('pagehide', hide);
})();
</script>
`;

function render(title: string, nonce: string, body: string, view: object): string {
  return renderPage({ body, style: STYLE }, { ...view, title, nonce });
}

export function landingPage(view: {
  nonce: string;
  token: string;
  orderId: string;
  cardCount: number;
  expiresAt: Date;
  visibleMs: number;
}): string {
  return render('Your gift cards', view.nonce, LANDING, {
    token: view.token,
    orderId: view.orderId,
    cardCount: view.cardCount,
    cardNoun: view.cardCount === 1 ? 'gift card' : 'gift cards',
    expiresIso: view.expiresAt.toISOString(),
    expiresText: formatUtc(view.expiresAt),
    visibleSeconds: Math.round(view.visibleMs / 1000),
  });
}

export function revealPage(view: {
  nonce: string;
  orderId: string;
  cards: ReadonlyArray<{ value: string; serial: string }>;
  visibleMs: number;
}): string {
  return render('Your gift cards', view.nonce, REVEAL, {
    orderId: view.orderId,
    cards: view.cards,
    visibleMs: view.visibleMs,
    visibleSeconds: Math.ceil(view.visibleMs / 1000),
  });
}

/** The text file a Download returns. */
export function cardsText(orderId: string, cards: ReadonlyArray<{ value: string; serial: string }>): string {
  const lines = [`Gift cards for order ${orderId}`, ''];
  cards.forEach((card, i) => {
    lines.push(`Gift card ${i + 1}`, `Code: ${card.value}`, `Serial: ${card.serial}`, '');
  });
  lines.push('Keep this file private: anyone who has these codes can spend them.', '');
  return lines.join('\r\n');
}

function formatUtc(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
