/**
 * Customer emails. They carry a link and counts, never a card code: the code is only ever shown on the
 * reveal page to whoever holds the single-use link.
 */
import Mustache from 'mustache';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const layout = (body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{subject}}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;color:#1d2433">
${body}
<p style="color:#6b7280;font-size:.85rem">You receive this email because gift cards were bought for you.
We never send gift card codes by email and will never ask you for them.</p>
</body></html>`;

const DELIVERY_TEXT = `Hello,

Your gift cards for order {{orderRef}} are ready: {{cardCount}} card(s).

Open this link to reveal or download them:
{{link}}

The link works once and expires on {{expiresAt}}. After you reveal or download the cards, the link
stops working, so keep the codes somewhere safe. If it has expired, ask the sender for a new link.
`;

const DELIVERY_HTML = layout(`<h1 style="font-size:1.3rem">Your gift cards are ready</h1>
<p>Order <strong>{{orderRef}}</strong>: {{cardCount}} card(s).</p>
<p><a href="{{link}}" style="display:inline-block;padding:.7rem 1.2rem;background:#1f6feb;color:#fff;border-radius:6px;text-decoration:none">Open your gift cards</a></p>
<p>The link works once and expires on {{expiresAt}}. After you reveal or download the cards, the link stops
working, so keep the codes somewhere safe.</p>`);

const NOTICE_TEXT = `Hello,

{{message}}

Order reference: {{orderRef}}
`;

const NOTICE_HTML = layout(`<h1 style="font-size:1.3rem">About your gift card order</h1>
<p>{{message}}</p><p>Order reference: <strong>{{orderRef}}</strong></p>`);

export function deliveryMail(v: {
  orderRef: string;
  cardCount: number;
  link: string;
  expiresAt: Date;
}): RenderedMail {
  const view = {
    ...v,
    expiresAt: v.expiresAt.toUTCString(),
    subject: `Your gift cards (order ${v.orderRef})`,
  };
  return {
    subject: view.subject,
    text: Mustache.render(DELIVERY_TEXT, view, {}, { escape: (s) => String(s) }),
    html: Mustache.render(DELIVERY_HTML, view),
  };
}

export function noticeMail(v: {
  orderRef: string;
  kind: 'failed' | 'cancelled' | 'deadline';
  deliveredCards: number;
  quantity: number | null;
}): RenderedMail {
  const partial =
    v.deliveredCards > 0
      ? ` ${v.deliveredCards} of ${v.quantity ?? v.deliveredCards} card(s) were delivered to you in a separate email.`
      : ' No card was delivered and you have not been charged for undelivered cards.';
  const message = {
    failed: 'We could not complete your gift card order.',
    cancelled: 'Your gift card order was cancelled.',
    deadline: 'Your gift card order could not be completed in time.',
  }[v.kind];
  const view = {
    orderRef: v.orderRef,
    message: message + partial,
    subject: `About your gift card order ${v.orderRef}`,
  };
  return {
    subject: view.subject,
    text: Mustache.render(NOTICE_TEXT, view, {}, { escape: (s) => String(s) }),
    html: Mustache.render(NOTICE_HTML, view),
  };
}
