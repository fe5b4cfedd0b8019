/**
 * The pages the API shows when it says no (link pages and the errors of every route group), in the
 * customer's language (api/http/customer-page.ts).
 */
import type { MessageKey } from '../../domain/i18n';
import type { PageContext } from './customer-page';
import { renderPage } from './html-layout';

const MESSAGE = `<h1>{{heading}}</h1>
<p>{{text}}</p>`;

/**
 * The only things the API says when it will not show cards. Deliberately generic: nothing here tells a
 * guesser whether a token exists, only what the holder of a real link needs to do next.
 */
export const MESSAGES = {
  notFound: { status: 404 },
  gone: { status: 410 },
  purged: { status: 410 },
  unavailable: { status: 503 },
  tooManyRequests: { status: 429 },
  badRequest: { status: 400 },
  pageNotFound: { status: 404 },
  serverError: { status: 500 },
} as const satisfies Record<string, { status: number }>;

export type MessageKind = keyof typeof MESSAGES;

function messageText(kind: MessageKind, page: PageContext): { heading: string; text: string } {
  return {
    heading: page.t(`error.${kind}.heading` as MessageKey),
    text: page.t(`error.${kind}.text` as MessageKey, { support: page.support }),
  };
}

export function messagePage(kind: MessageKind, nonce: string, page: PageContext): string {
  const m = messageText(kind, page);
  return renderPage(
    { body: MESSAGE, style: '' },
    {
      ...m,
      title: m.heading,
      nonce,
      lang: page.locale,
      brand: page.brand,
      branded: true,
      footer: page.t('page.support', { support: page.support }),
    },
  );
}
