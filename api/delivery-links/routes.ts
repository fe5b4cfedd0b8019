/**
 * The link a customer receives: `/d/<token>`. GET shows what the link holds and never consumes it; the
 * explicit POSTs consume it once and show or download the cards (DESIGN 3.4).
 *
 * Nothing here logs the token or a card: log lines name the order, the delivery and the outcome.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { supportedLocale } from '../../domain/i18n';
import type { Db } from '../../lib/db';
import { looksLikeToken } from '../../lib/tokens';
import type { Transit } from '../../lib/vault';
import { audit } from '../../store/audit';
import { pageContext } from '../http/customer-page';
import { sendMessage } from '../http/errors';
import { NO_SECURITY, TAGS, withOptionalBody } from '../http/openapi';
import { clientIp, createLimiters, everyone, overallMax } from '../http/rate-limits';
import { requesterOf } from '../http/requester';
import { consumeLink, findLink, type RetrievalMethod } from './links';
import { cardsPdf, cardsText, landingPage, revealPage } from './pages';

export interface RetrievedEvent {
  orderId: string;
  deliveryId: string;
  method: RetrievalMethod;
}

export interface DeliveryRoutesOptions {
  db: Db;
  transit: Pick<Transit, 'decryptBatch'>;
  revealVisibleMs: number;
  /** Per IP; unknown tokens from all addresses together get OVERALL_CLIENTS times this. */
  rateLimitPerMinute: number;
  /** Runs after the consuming transaction committed (e.g. signals the order's workflow); never awaited by the response. */
  onRetrieved?: (e: RetrievedEvent) => Promise<void>;
}

type TokenRequest = FastifyRequest<{
  Params: { token: string };
  Querystring: { lang?: string };
  Body: { format?: string } | undefined;
}>;

/**
 * The link's routes as the document shows them: HTML pages (and the download), never JSON, whatever goes
 * wrong. Validation is attached, not answered: a malformed token or parameter is an unknown link (404).
 */
const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });
const pages = {
  400: html('A malformed request (not from the pages)'),
  404: html('No such link (a malformed token too)'),
  410: html('The link was used, expired or revoked, or its cards were purged'),
  429: html('Too many requests from this address'),
  503: html('The cards cannot be shown right now; the link is left unused'),
};
/** What a POST that is not the page's own form gets: its body too large, or of another type. */
const forms = {
  413: html('The body is too large'),
  415: html('Not a form'),
};
const token = z.object({
  token: z.string().describe("The link's token (43 characters of base64url), from the email"),
});
const lang = z.object({
  lang: z.string().optional().describe("The language of the page (the order's, kept on the forms)"),
});
const landingRoute = {
  tags: [TAGS.links],
  security: NO_SECURITY,
  operationId: 'viewLink',
  summary: "The link's page: what it holds; never consumes it",
  params: token,
  querystring: lang,
  response: { 200: html('The landing page, with the reveal and download buttons'), ...pages },
};
const revealRoute = withOptionalBody({
  tags: [TAGS.links],
  security: NO_SECURITY,
  operationId: 'revealLink',
  summary: 'Consumes the link and shows the cards',
  params: token,
  querystring: lang,
  consumes: ['application/x-www-form-urlencoded'],
  body: z.object({}).optional(),
  response: { 200: html('The cards, shown for a while'), ...pages, ...forms },
});
const downloadRoute = withOptionalBody({
  tags: [TAGS.links],
  security: NO_SECURITY,
  operationId: 'downloadLink',
  summary: 'Consumes the link and downloads the cards',
  params: token,
  querystring: lang,
  consumes: ['application/x-www-form-urlencoded'],
  body: z
    .object({
      format: z.string().optional().describe('`pdf` for a PDF; anything else, or nothing, a text file'),
    })
    .optional(),
  response: {
    200: {
      description: 'The cards as an attachment',
      content: {
        'text/plain': { schema: z.string() },
        'application/pdf': { schema: z.string().meta({ format: 'binary' }) },
      },
    },
    ...pages,
    ...forms,
  },
});

export async function deliveryRoutes(app: FastifyInstance, opts: DeliveryRoutesOptions): Promise<void> {
  const { db, transit, revealVisibleMs } = opts;

  // Scoped to this plugin: guessing tokens is what the limit is for; health checks and other APIs are not.
  // Every request spends its address's budget; only unknown tokens spend the overall one, so a flood of
  // guesses from many addresses never stands between a customer and a real link (http/rate-limits.ts).
  const [byIp, unknownTokens] = await createLimiters(app, [
    { name: 'delivery:ip', max: opts.rateLimitPerMinute, key: clientIp, advertise: true },
    { name: 'delivery:overall', max: overallMax(opts.rateLimitPerMinute), key: everyone },
  ]);
  app.addHook('onRequest', byIp!);

  /** A token that names no link: 404, or 429 once unknown tokens from everywhere spent the overall budget. */
  const unknownToken = async (request: FastifyRequest, reply: FastifyReply) => {
    await unknownTokens!(request, reply);
    return sendMessage(reply, request, 'notFound');
  };

  // Notifications still running when the server closes are awaited, so a shutdown does not drop them.
  const pending = new Set<Promise<void>>();
  app.addHook('onClose', async () => {
    await Promise.allSettled([...pending]);
  });

  const notify = (request: FastifyRequest, event: RetrievedEvent) => {
    if (!opts.onRetrieved) return;
    const run = opts
      .onRetrieved(event)
      .catch((err: unknown) => {
        request.log.error(
          { orderId: event.orderId, deliveryId: event.deliveryId, err },
          'retrieval notification failed; the retention sweep will catch up',
        );
      })
      .finally(() => pending.delete(run));
    pending.add(run);
  };

  app.get(
    '/d/:token',
    { schema: landingRoute, attachValidation: true },
    async (request: TokenRequest, reply) => {
      const { token } = request.params;
      if (!looksLikeToken(token)) return unknownToken(request, reply);
      const link = await findLink(db, token);
      if (!link) return unknownToken(request, reply);

      await audit(db, {
        orderId: link.orderId,
        event: 'LINK_VIEWED',
        actor: 'customer',
        method: 'GET /d/:token',
        ...requesterOf(request),
        count: link.cardCount,
        detail: { deliveryId: link.deliveryId, state: link.state },
      });
      request.log.info(
        { orderId: link.orderId, deliveryId: link.deliveryId, state: link.state },
        'link viewed',
      );

      if (link.state !== 'active') return sendMessage(reply, request, 'gone', undefined, link.caller);
      if (link.cardCount === 0) return sendMessage(reply, request, 'purged', undefined, link.caller);
      const page = pageContext(request, link.caller);
      return reply
        .type('text/html; charset=utf-8')
        .header('content-language', page.locale)
        .send(
          landingPage(page, {
            nonce: request.cspNonce,
            token,
            // The order's language, kept on the forms so the reveal and download answer in it too.
            lang: typeof request.query.lang === 'string' ? supportedLocale(request.query.lang) : undefined,
            orderId: link.orderId,
            cardCount: link.cardCount,
            expiresAt: link.expiresAt,
            visibleMs: revealVisibleMs,
          }),
        );
    },
  );

  const retrieve = (method: RetrievalMethod) => async (request: TokenRequest, reply: FastifyReply) => {
    const { token } = request.params;
    if (!looksLikeToken(token)) return unknownToken(request, reply);

    const result = await consumeLink(db, transit, token, method, requesterOf(request));
    switch (result.outcome) {
      case 'unknown':
        return unknownToken(request, reply);
      case 'gone':
        request.log.info(
          { orderId: result.orderId, deliveryId: result.deliveryId, method },
          'link refused: used, expired or revoked',
        );
        return sendMessage(reply, request, 'gone', undefined, result.caller);
      case 'purged':
        request.log.warn(
          { orderId: result.orderId, deliveryId: result.deliveryId, method },
          'link refused: its cards were purged',
        );
        return sendMessage(reply, request, 'purged', undefined, result.caller);
      case 'unavailable':
        request.log.error(
          { orderId: result.orderId, deliveryId: result.deliveryId, method, err: result.error },
          'card decryption failed; link left unused',
        );
        return sendMessage(reply, request, 'unavailable', undefined, result.caller);
      case 'retrieved':
        break;
    }

    const { orderId, deliveryId, cards } = result;
    const page = pageContext(request, result.caller);
    request.log.info({ orderId, deliveryId, method, count: cards.length }, 'cards retrieved');
    notify(request, { orderId, deliveryId, method });

    if (method === 'download') {
      const pdf = request.body?.format === 'pdf';
      return reply
        .type(pdf ? 'application/pdf' : 'text/plain; charset=utf-8')
        .header('content-language', page.locale)
        .header(
          'content-disposition',
          `attachment; filename="giftcards-${fileSafe(orderId)}.${pdf ? 'pdf' : 'txt'}"`,
        )
        .send(pdf ? await cardsPdf(page, orderId, cards) : cardsText(page, orderId, cards));
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('content-language', page.locale)
      .send(revealPage(page, { nonce: request.cspNonce, orderId, cards, visibleMs: revealVisibleMs }));
  };

  app.post('/d/:token/reveal', { schema: revealRoute, attachValidation: true }, retrieve('reveal'));
  app.post('/d/:token/download', { schema: downloadRoute, attachValidation: true }, retrieve('download'));
}

/** Order ids come from upstream systems; a header value must not carry quotes, CR/LF or non-ASCII. */
function fileSafe(orderId: string): string {
  return orderId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
}
