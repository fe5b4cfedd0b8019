/**
 * The pages the API shows when it says no (link pages and the errors of every route group).
 */
import { renderPage } from './html-layout';

const MESSAGE = `<h1>{{heading}}</h1>
{{#paragraphs}}<p>{{.}}</p>
{{/paragraphs}}`;

/**
 * The only things the API says when it will not show cards. Deliberately generic: nothing here tells a
 * guesser whether a token exists, only what the holder of a real link needs to do next.
 */
export const MESSAGES = {
  notFound: {
    status: 404,
    heading: 'This link is not valid',
    paragraphs: ['Check that you opened the complete link from your email.'],
  },
  gone: {
    status: 410,
    heading: 'This link has already been used or has expired',
    paragraphs: [
      'Gift card links work once and for a limited time.',
      "If you still need your gift cards, contact the merchant's customer support to get a new link.",
    ],
  },
  purged: {
    status: 410,
    heading: 'These gift cards are no longer available',
    paragraphs: [
      'The gift cards for this link can no longer be shown.',
      "Contact the merchant's customer support if you need help.",
    ],
  },
  unavailable: {
    status: 503,
    heading: 'Temporarily unavailable',
    paragraphs: [
      'We could not open your gift cards just now. Your link has not been used.',
      'Please try again in a few minutes.',
    ],
  },
  tooManyRequests: {
    status: 429,
    heading: 'Too many requests',
    paragraphs: ['Please wait a minute and try again.'],
  },
  badRequest: {
    status: 400,
    heading: 'This request could not be handled',
    paragraphs: ['Please go back and try again.'],
  },
  pageNotFound: {
    status: 404,
    heading: 'Page not found',
    paragraphs: ['There is nothing at this address.'],
  },
  serverError: {
    status: 500,
    heading: 'Something went wrong',
    paragraphs: ['Please try again in a few minutes.'],
  },
} as const satisfies Record<string, { status: number; heading: string; paragraphs: readonly string[] }>;

export type MessageKind = keyof typeof MESSAGES;

export function messagePage(kind: MessageKind, nonce: string): string {
  const m = MESSAGES[kind];
  return renderPage({ body: MESSAGE, style: '' }, { ...m, title: m.heading, nonce });
}
