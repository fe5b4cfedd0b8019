/**
 * Headers every API response carries (DESIGN 3.4). They are set on all responses, errors and 404s
 * included, because a page that shows cards and a page that says "no" must be indistinguishable to caches,
 * crawlers and framing sites.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Per-response CSP nonce: the only inline script and style a page may run. */
    cspNonce: string;
  }
  interface FastifyInstance {
    /** For the paths where hooks do not run (framework errors). */
    securityHeaderOptions: SecurityHeaderOptions;
  }
}

export function newNonce(): string {
  // base64url without padding: valid in a CSP nonce and untouched by HTML escaping.
  return randomBytes(18).toString('base64url');
}

function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    // The brand's logo is inline (a data: URI, html-layout.ts): no image is ever fetched, from anywhere.
    // An image cannot run script (an SVG in <img> neither), and a data: image reaches no server, so an
    // injected <img> could carry nothing out.
    'img-src data:',
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * HSTS when the API is served over https (PUBLIC_BASE_URL): a browser that has seen it never again tries the
 * http:// address, so nobody on the path can strip TLS from a link's page. A year, subdomains included, as
 * the preload list asks; never on http, where it would mean nothing and a local stack would pin itself.
 */
export const HSTS = 'max-age=31536000; includeSubDomains';

export interface SecurityHeaderOptions {
  hsts: boolean;
}

export function applySecurityHeaders(reply: FastifyReply, nonce: string, opts: SecurityHeaderOptions): void {
  if (opts.hsts) reply.header('strict-transport-security', HSTS);
  reply.headers({
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'content-security-policy': contentSecurityPolicy(nonce),
    'referrer-policy': 'no-referrer',
    'x-robots-tag': 'noindex, nofollow',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  });
}

/** Registers on the root instance (not as an encapsulated plugin) so every route and error path gets them. */
export function addSecurityHeaders(app: FastifyInstance, opts: SecurityHeaderOptions): void {
  app.decorate('securityHeaderOptions', opts);
  app.decorateRequest('cspNonce', '');
  app.addHook('onRequest', async (request: FastifyRequest) => {
    request.cspNonce = newNonce();
  });
  // onSend rather than onRequest: error replies may reset headers set earlier in the lifecycle.
  app.addHook('onSend', async (request, reply, payload) => {
    applySecurityHeaders(reply, request.cspNonce || newNonce(), opts);
    return payload;
  });
}
