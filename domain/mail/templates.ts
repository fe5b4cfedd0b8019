/**
 * Customer emails, in the customer's language (the order's locale, else the business default) and the
 * business's look (the order's caller's brand). They carry a link and counts, never a card code: the code
 * is only ever shown on the reveal page to whoever holds the single-use link.
 *
 * Each email has a plain-text part and an HTML part (multipart/alternative): the HTML is one self-contained
 * document, styles inline, no script, no stylesheet, and no remote image: the brand's logo travels with the
 * message as an inline attachment named by Content-ID (multipart/related), with the display name as its alt
 * text, unless the brand configures a remote one (emailLogoUrl, https).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Mustache from 'mustache';
import { type Brand, DEFAULT_BRAND } from '../brand';
import { type Translate, translator } from '../i18n';

export interface RenderedMail {
  /** Which kind of email, for the metrics: a link to cards, or a notice about the order. */
  kind: 'link' | 'notice';
  subject: string;
  text: string;
  html: string;
  /** Images the HTML names by `cid:` (the brand's logo); nodemailer sends them inline. */
  attachments?: MailAttachment[];
}

export interface MailAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
  cid: string;
}

/** Who the email comes from and speaks for: its language and its brand. */
export interface MailVoice {
  /** A supported BCP 47 tag (domain/i18n); English when not given. */
  locale?: string;
  brand?: Brand;
}

const plain = { escape: (s: unknown) => String(s) };

const LAYOUT = `<!doctype html>
<html lang="{{lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{{subject}}</title></head>
<body style="margin:0;padding:0;background:{{brand.background}}">
<div style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:36rem;margin:0 auto;padding:2rem 1rem;color:{{brand.text}};background:{{brand.background}};line-height:1.5">
<p style="font-weight:600;border-bottom:2px solid {{brand.accent}};padding-bottom:.4rem;margin-top:0">{{#logoSrc}}<img src="{{logoSrc}}" alt="{{brand.displayName}}" height="32" style="height:32px;border:0">{{/logoSrc}}{{^logoSrc}}{{brand.displayName}}{{/logoSrc}}</p>
{{> body}}
<p style="color:{{brand.muted}};font-size:.85rem">{{footer}}</p>
{{#supportLine}}<p style="color:{{brand.muted}};font-size:.85rem">{{supportLine}}</p>{{/supportLine}}
</div>
</body></html>`;

function frame(t: Translate, locale: string, brand: Brand, subject: string) {
  const support = brand.support;
  const contact = [support?.email, support?.url].filter(Boolean).join(' · ');
  return {
    lang: locale,
    brand,
    logoSrc: brand.emailLogoUrl ?? (brand.logo ? `cid:${brand.logo.cid}` : undefined),
    subject,
    footer: t('mail.footer'),
    supportLine: contact ? `${support?.name ?? brand.displayName}: ${contact}` : '',
  };
}

/**
 * The mail as sent: the brand's logo attached when its HTML shows it (a business's own notice template may
 * not, and then nothing rides along).
 */
function withLogo(mail: RenderedMail, brand: Brand): RenderedMail {
  const logo = brand.logo;
  if (!logo || !mail.html.includes(`cid:${logo.cid}`)) return mail;
  return {
    ...mail,
    attachments: [
      { filename: logo.filename, content: logo.bytes, contentType: logo.contentType, cid: logo.cid },
    ],
  };
}

function voice(v: MailVoice) {
  const { t, locale } = translator(v.locale ?? 'en');
  const brand = v.brand ?? DEFAULT_BRAND;
  return { t, locale, brand, support: brand.support?.name ?? t('support.default') };
}

const DELIVERY_TEXT = `{{hello}}

{{ready}}
{{#replaces}}
{{replaces}}
{{/replaces}}

{{open}}
{{link}}

{{once}}

-- 
{{brand.displayName}}{{#supportLine}}
{{supportLine}}{{/supportLine}}
{{footer}}
`;

const DELIVERY_HTML = `<h1 style="font-size:1.3rem">{{heading}}</h1>
<p>{{ready}}</p>
{{#replaces}}<p><strong>{{replaces}}</strong></p>{{/replaces}}
<p><a href="{{link}}" style="display:inline-block;padding:.7rem 1.2rem;background:{{brand.accent}};color:{{brand.onAccent}};border-radius:6px;text-decoration:none">{{button}}</a></p>
<p>{{once}}</p>`;

export function deliveryMail(
  v: {
    orderRef: string;
    cardCount: number;
    link: string;
    expiresAt: Date;
    /** An earlier email's link for these cards was revoked (a resend, or a retried send): say so. */
    replacesEarlier?: boolean;
  } & MailVoice,
): RenderedMail {
  const { t, locale, brand, support } = voice(v);
  const subject = t('mail.link.subject', { orderRef: v.orderRef });
  const view = {
    ...frame(t, locale, brand, subject),
    hello: t('mail.hello'),
    heading: t('mail.link.heading'),
    ready: t('mail.link.ready', { orderRef: v.orderRef, count: v.cardCount }),
    replaces: v.replacesEarlier ? t('mail.link.replaces') : '',
    open: t('mail.link.open'),
    button: t('mail.link.button'),
    link: v.link,
    once: t('mail.link.once', { expires: v.expiresAt, support }),
  };
  return withLogo(
    {
      kind: 'link',
      subject,
      text: Mustache.render(DELIVERY_TEXT, view, {}, plain),
      html: Mustache.render(LAYOUT, view, { body: DELIVERY_HTML }),
    },
    brand,
  );
}

/**
 * The notice an order that fell short sends (failed, cancelled, or past its deadline), in the customer's
 * language. The business may replace its wording (MAIL_TEMPLATES_DIR: `notice.subject.txt`, `notice.txt`,
 * `notice.html`, Mustache; a file not there keeps the localized default); every template sees only these
 * variables, and none of them can carry a code:
 *
 *   orderRef        the order id
 *   failed, cancelled, deadline   true for the notice's kind
 *   deliveredCards  cards delivered (by a separate link email)
 *   quantity        cards ordered, when the provider said
 *   someDelivered   deliveredCards > 0
 *   locale          the customer's language (a BCP 47 tag), for templates that choose by it
 *
 * The default says only what the pipeline knows: what was and was not delivered. Nothing about charges or
 * refunds, which are the business's.
 */
export interface NoticeTemplates {
  subject?: string;
  text?: string;
  html?: string;
}

const NOTICE_TEMPLATE_FILES = {
  subject: 'notice.subject.txt',
  text: 'notice.txt',
  html: 'notice.html',
} as const;

const NOTICE_TEXT = `{{hello}}

{{message}}

{{questions}}

{{ref}}

-- 
{{brand.displayName}}{{#supportLine}}
{{supportLine}}{{/supportLine}}
{{footer}}
`;

const NOTICE_HTML = `<h1 style="font-size:1.3rem">{{heading}}</h1>
<p>{{message}}</p>
<p>{{questions}}</p>
<p>{{ref}}</p>`;

export function noticeMail(
  v: {
    orderRef: string;
    kind: 'failed' | 'cancelled' | 'deadline' | 'recipient-changed';
    deliveredCards: number;
    quantity: number | null;
  } & MailVoice,
  templates: NoticeTemplates = {},
): RenderedMail {
  const { t, locale, brand, support } = voice(v);
  // Not the business's wording to choose (its templates know only the order's end): a security notice.
  if (v.kind === 'recipient-changed') return recipientChangedMail(v.orderRef, t, locale, brand, support);
  const quantity = v.quantity ?? v.deliveredCards;
  const variables = {
    orderRef: v.orderRef,
    failed: v.kind === 'failed',
    cancelled: v.kind === 'cancelled',
    deadline: v.kind === 'deadline',
    deliveredCards: v.deliveredCards,
    quantity,
    someDelivered: v.deliveredCards > 0,
    locale,
  };
  const subject = templates.subject
    ? Mustache.render(templates.subject, variables, {}, plain).trim()
    : t('mail.notice.subject', { orderRef: v.orderRef });
  const message = [
    t(`mail.notice.${v.kind}`),
    v.deliveredCards > 0
      ? t('mail.notice.some', { delivered: v.deliveredCards, quantity })
      : t('mail.notice.none'),
  ].join(' ');
  const view = {
    ...variables,
    ...frame(t, locale, brand, subject),
    hello: t('mail.hello'),
    heading: t('mail.notice.heading'),
    message,
    questions: t('mail.notice.questions', { support }),
    ref: t('mail.notice.ref', { orderRef: v.orderRef }),
  };
  return withLogo(
    {
      kind: 'notice',
      subject,
      text: templates.text
        ? Mustache.render(templates.text, variables, {}, plain)
        : Mustache.render(NOTICE_TEXT, view, {}, plain),
      html: templates.html
        ? Mustache.render(templates.html, { ...variables, subject })
        : Mustache.render(LAYOUT, view, { body: NOTICE_HTML }),
    },
    brand,
  );
}

/**
 * To the previous address when an order's recipient is corrected (DESIGN 3.13): it learns that the cards
 * went elsewhere, without a link, a code or the new address. Its only variable is the order reference.
 */
function recipientChangedMail(
  orderRef: string,
  t: Translate,
  locale: string,
  brand: Brand,
  support: string,
): RenderedMail {
  const subject = t('mail.recipientChanged.subject', { orderRef });
  const view = {
    ...frame(t, locale, brand, subject),
    hello: t('mail.hello'),
    heading: t('mail.recipientChanged.heading'),
    message: t('mail.notice.recipient-changed'),
    questions: t('mail.notice.questions', { support }),
    ref: t('mail.notice.ref', { orderRef }),
  };
  return withLogo(
    {
      kind: 'notice',
      subject,
      text: Mustache.render(NOTICE_TEXT, view, {}, plain),
      html: Mustache.render(LAYOUT, view, { body: NOTICE_HTML }),
    },
    brand,
  );
}

/**
 * The business's notice templates from a folder (MAIL_TEMPLATES_DIR); a file that is not there keeps the
 * localized default. A template that does not parse stops start-up naming its file, not at the first
 * failed order.
 */
export function loadNoticeTemplates(dir: string | undefined): NoticeTemplates {
  if (!dir) return {};
  const templates: NoticeTemplates = {};
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
