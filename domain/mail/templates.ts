/**
 * Customer emails. They carry a link and counts, never a card code: the code is only ever shown on the
 * reveal page to whoever holds the single-use link.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Mustache from 'mustache';

export interface RenderedMail {
  /** Which kind of email, for the metrics: a link to cards, or a notice about the order. */
  kind: 'link' | 'notice';
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
{{#replacesEarlier}}
This email replaces an earlier one about the same gift cards: the link in that email no longer works.
{{/replacesEarlier}}

Open this link to reveal or download them:
{{link}}

The link works once and expires on {{expiresAt}}. After you reveal or download the cards, the link
stops working, so keep the codes somewhere safe. If it has expired, ask the sender for a new link.
`;

const DELIVERY_HTML = layout(`<h1 style="font-size:1.3rem">Your gift cards are ready</h1>
<p>Order <strong>{{orderRef}}</strong>: {{cardCount}} card(s).</p>
{{#replacesEarlier}}<p><strong>This email replaces an earlier one about the same gift cards: the link in that email no longer works.</strong></p>{{/replacesEarlier}}
<p><a href="{{link}}" style="display:inline-block;padding:.7rem 1.2rem;background:#1f6feb;color:#fff;border-radius:6px;text-decoration:none">Open your gift cards</a></p>
<p>The link works once and expires on {{expiresAt}}. After you reveal or download the cards, the link stops
working, so keep the codes somewhere safe.</p>`);

export function deliveryMail(v: {
  orderRef: string;
  cardCount: number;
  link: string;
  expiresAt: Date;
  /** An earlier email's link for these cards was revoked (a resend, or a retried send): say so. */
  replacesEarlier?: boolean;
}): RenderedMail {
  const view = {
    ...v,
    expiresAt: v.expiresAt.toUTCString(),
    subject: `Your gift cards (order ${v.orderRef})`,
  };
  return {
    kind: 'link',
    subject: view.subject,
    text: Mustache.render(DELIVERY_TEXT, view, {}, { escape: (s) => String(s) }),
    html: Mustache.render(DELIVERY_HTML, view),
  };
}

/**
 * The notice an order that fell short sends (failed, cancelled, or past its deadline). Its wording is the
 * business's to choose (MAIL_TEMPLATES_DIR: `notice.subject.txt`, `notice.txt`, `notice.html`, Mustache);
 * every template sees only these variables, and none of them can carry a code:
 *
 *   orderRef        the order id
 *   failed, cancelled, deadline   true for the notice's kind
 *   deliveredCards  cards delivered (by a separate link email)
 *   quantity        cards ordered, when the provider said
 *   someDelivered   deliveredCards > 0
 *
 * The default says only what the pipeline knows: what was and was not delivered. Nothing about charges or
 * refunds, which are the business's.
 */
export interface NoticeTemplates {
  subject: string;
  text: string;
  html: string;
}

export const NOTICE_TEMPLATE_FILES = {
  subject: 'notice.subject.txt',
  text: 'notice.txt',
  html: 'notice.html',
} as const;

const NOTICE_MESSAGE = `{{#failed}}We could not complete your gift card order.{{/failed}}{{#cancelled}}Your gift card order was cancelled.{{/cancelled}}{{#deadline}}Your gift card order could not be completed in time.{{/deadline}} {{#someDelivered}}{{deliveredCards}} of {{quantity}} card(s) were delivered to you in a separate email; the rest will not be.{{/someDelivered}}{{^someDelivered}}No card could be delivered.{{/someDelivered}}`;

export const DEFAULT_NOTICE: NoticeTemplates = {
  subject: 'About your gift card order {{orderRef}}',
  text: `Hello,

${NOTICE_MESSAGE}

If you have questions, contact the sender of the gift cards with your order reference.

Order reference: {{orderRef}}
`,
  html: layout(`<h1 style="font-size:1.3rem">About your gift card order</h1>
<p>${NOTICE_MESSAGE}</p>
<p>If you have questions, contact the sender of the gift cards with your order reference.</p>
<p>Order reference: <strong>{{orderRef}}</strong></p>`),
};

export function noticeMail(
  v: {
    orderRef: string;
    kind: 'failed' | 'cancelled' | 'deadline' | 'recipient-changed';
    deliveredCards: number;
    quantity: number | null;
  },
  templates: NoticeTemplates = DEFAULT_NOTICE,
): RenderedMail {
  // Not the business's wording to choose (its templates know only the order's end): a security notice.
  if (v.kind === 'recipient-changed') return recipientChangedMail(v.orderRef);
  const view = {
    orderRef: v.orderRef,
    failed: v.kind === 'failed',
    cancelled: v.kind === 'cancelled',
    deadline: v.kind === 'deadline',
    deliveredCards: v.deliveredCards,
    quantity: v.quantity ?? v.deliveredCards,
    someDelivered: v.deliveredCards > 0,
  };
  const plain = { escape: (s: unknown) => String(s) };
  const subject = Mustache.render(templates.subject, view, {}, plain).trim();
  return {
    kind: 'notice',
    subject,
    text: Mustache.render(templates.text, view, {}, plain),
    html: Mustache.render(templates.html, { ...view, subject }),
  };
}

/**
 * The notice templates from a folder (MAIL_TEMPLATES_DIR); a file that is not there keeps the default. A
 * template that does not parse stops start-up naming its file, not at the first failed order.
 */
export function loadNoticeTemplates(dir: string | undefined): NoticeTemplates {
  if (!dir) return DEFAULT_NOTICE;
  const templates = { ...DEFAULT_NOTICE };
  for (const [part, file] of Object.entries(NOTICE_TEMPLATE_FILES) as Array<
    [keyof NoticeTemplates, string]
  >) {
    const full = path.join(dir, file);
    if (!existsSync(full)) continue;
    const text = readFileSync(full, 'utf8');
    try {
      Mustache.parse(text);
    } catch (err) {
      throw new Error(
        `MAIL_TEMPLATES_DIR: ${file} is not a valid Mustache template (${(err as Error).message})`,
      );
    }
    templates[part] = text;
  }
  return templates;
}

const RECIPIENT_CHANGED_MESSAGE =
  'The email with the link to your gift cards for this order could not be delivered to this address, so the sender of the gift cards had it sent to another address. The earlier link no longer works, and the cards will not be sent here.';

/**
 * To the previous address when an order's recipient is corrected (DESIGN 3.13): it learns that the cards
 * went elsewhere, without a link, a code or the new address. Its only variable is the order reference.
 */
export const RECIPIENT_CHANGED: NoticeTemplates = {
  subject: 'Your gift card order {{orderRef}} was sent to another address',
  text: `Hello,

${RECIPIENT_CHANGED_MESSAGE}

If you did not expect this, contact the sender of the gift cards with your order reference.

Order reference: {{orderRef}}
`,
  html: layout(`<h1 style="font-size:1.3rem">Your gift card order was sent to another address</h1>
<p>${RECIPIENT_CHANGED_MESSAGE}</p>
<p>If you did not expect this, contact the sender of the gift cards with your order reference.</p>
<p>Order reference: <strong>{{orderRef}}</strong></p>`),
};

export function recipientChangedMail(orderRef: string): RenderedMail {
  const view = { orderRef };
  const plain = { escape: (s: unknown) => String(s) };
  const subject = Mustache.render(RECIPIENT_CHANGED.subject, view, {}, plain).trim();
  return {
    kind: 'notice',
    subject,
    text: Mustache.render(RECIPIENT_CHANGED.text, view, {}, plain),
    html: Mustache.render(RECIPIENT_CHANGED.html, { ...view, subject }),
  };
}
