/**
 * The provider adapter (DESIGN 4): one call, `checkOrder`, that either returns an order that passed the
 * contract or throws a classified ProviderError.
 *
 * The response body carries card values and serials, so nothing derived from it (not a snippet, not a
 * JSON.parse message, not a zod issue message) may reach an error: errors travel into Temporal failures
 * and logs. Messages are built only from the order id, the HTTP status and the schema's own field names.
 */
import { z } from 'zod';
import { isFinalProviderStatus, PROVIDER_STATUSES, type ProviderStatus } from '../contracts/order';
import { metrics, observed } from '../lib/metrics';

/**
 * The symbologies a provider may name for a card (`barcodeFormat`): how a cashier's scanner expects the
 * code. Not secret (it says nothing about the value); stored beside the card's ciphertext.
 */
export const BARCODE_FORMATS = [
  'code128',
  'code39',
  'ean13',
  'upca',
  'qrcode',
  'pdf417',
  'datamatrix',
] as const;
export type BarcodeFormat = (typeof BARCODE_FORMATS)[number];

export interface ProviderCard {
  value: string;
  serial: string;
  /** The provider's symbology for this card, when it gives one; the page uses Code 128 otherwise. */
  barcodeFormat?: BarcodeFormat;
}

export interface ProviderOrder {
  orderId: string;
  status: ProviderStatus;
  quantity: number;
  cards: ProviderCard[];
}

export type ProviderErrorKind = 'not-found' | 'auth' | 'rate-limited' | 'unavailable' | 'contract';

const RETRYABLE: Record<ProviderErrorKind, boolean> = {
  'not-found': false,
  auth: false,
  'rate-limited': true,
  unavailable: true,
  contract: false,
};

export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly httpStatus?: number;
  /** No answer at all: the request timed out, or the connection failed. */
  readonly transport?: 'timeout' | 'network';

  constructor(
    kind: ProviderErrorKind,
    message: string,
    options: { retryAfterMs?: number; httpStatus?: number; transport?: 'timeout' | 'network' } = {},
  ) {
    super(message);
    this.kind = kind;
    this.retryable = RETRYABLE[kind];
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.httpStatus !== undefined) this.httpStatus = options.httpStatus;
    if (options.transport !== undefined) this.transport = options.transport;
  }
}

/** The class of an answer (or of its absence) in the provider metrics: a closed set, for dashboards and alerts. */
function responseClass(outcome: { value: ProviderOrder } | { error: unknown }): string {
  if ('value' in outcome) return isFinalProviderStatus(outcome.value.status) ? 'ok' : 'not_ready';
  const err = outcome.error;
  if (!(err instanceof ProviderError)) return 'error';
  switch (err.kind) {
    case 'not-found':
      return '4xx_not_found';
    case 'auth':
      return '4xx_auth';
    case 'rate-limited':
      return '429';
    case 'unavailable':
      if (err.transport) return err.transport;
      return err.httpStatus === 408 ? 'timeout' : '5xx';
    case 'contract':
      return err.httpStatus !== undefined && err.httpStatus >= 400 ? '4xx_other' : 'contract_violation';
  }
}

export interface ProviderClient {
  checkOrder(orderId: string): Promise<ProviderOrder>;
}

export interface ProviderClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
}

export const MAX_BODY_BYTES = 5 * 1024 * 1024;
export const MAX_CARDS = 10_000;
const DEFAULT_RETRY_AFTER_MS = 5_000;
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

const cardSchema = z.object({
  value: z.string().min(1).max(128),
  serial: z.string().min(1).max(128),
  barcodeFormat: z.enum(BARCODE_FORMATS).optional(),
});

const orderSchema = z.object({
  orderId: z.string(),
  status: z.enum(PROVIDER_STATUSES),
  quantity: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  cards: z.array(cardSchema).max(MAX_CARDS),
});

// Only these names may appear in an error: issue paths can otherwise carry keys chosen by the body.
const KNOWN_FIELDS = new Set(['orderId', 'status', 'quantity', 'cards', 'value', 'serial', 'barcodeFormat']);

export function createProviderClient(options: ProviderClientOptions): ProviderClient {
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError('provider base URL must be http(s)');
  }
  if (!(options.timeoutMs > 0)) throw new TypeError('provider timeout must be a positive number of ms');
  const basePath = base.pathname.replace(/\/+$/, '');

  return {
    checkOrder: (orderId) =>
      observed(
        metrics.providerLatency,
        metrics.providerResponses,
        (outcome) => ({ class: responseClass(outcome) }),
        () => checkOrder(orderId),
      ),
  };

  async function checkOrder(orderId: string): Promise<ProviderOrder> {
    const label = orderLabel(orderId);
    // "." and ".." survive encodeURIComponent and would be resolved away as path segments.
    if (orderId.length === 0 || orderId.length > 200 || orderId === '.' || orderId === '..') {
      throw new ProviderError('contract', `order id ${label} cannot be sent to the provider`);
    }
    const url = new URL(base);
    url.pathname = `${basePath}/v3/gift-cards/checkOrder/${encodeURIComponent(orderId)}`;
    url.search = '';
    url.hash = '';

    const signal = AbortSignal.timeout(options.timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'GET',
        headers: { 'X-API-Key': options.apiKey, Accept: 'application/json' },
        // A redirect would resend the API key to wherever the Location points.
        redirect: 'manual',
        signal,
      });
    } catch (err) {
      throw transportError(label, err);
    }

    const status = response.status;
    if (status < 200 || status > 299) {
      await discard(response);
      throw statusError(label, status, response.headers.get('retry-after'));
    }

    const bytes = await readBody(label, response);
    const parsed = parseJson(label, bytes);
    return validate(label, orderId, parsed);
  }
}

function orderLabel(orderId: string): string {
  return orderId.length > 80 ? `${orderId.slice(0, 80)}…` : orderId;
}

function transportError(label: string, err: unknown): ProviderError {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ProviderError('unavailable', `provider request for order ${label} timed out`, {
      transport: 'timeout',
    });
  }
  return new ProviderError(
    'unavailable',
    `provider request for order ${label} failed (${networkCode(err) ?? 'network error'})`,
    { transport: 'network' },
  );
}

/** The errno-style code of a fetch failure (ECONNRESET, ENOTFOUND, UND_ERR_SOCKET…), nothing free-form. */
function networkCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function statusError(label: string, status: number, retryAfter: string | null): ProviderError {
  const httpStatus = { httpStatus: status };
  if (status === 404) {
    return new ProviderError('not-found', `provider does not know order ${label} (HTTP 404)`, httpStatus);
  }
  if (status === 401 || status === 403) {
    return new ProviderError('auth', `provider rejected the credentials (HTTP ${status})`, httpStatus);
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return new ProviderError(
      'rate-limited',
      `provider rate-limited the request for order ${label}; retry after ${retryAfterMs} ms`,
      { ...httpStatus, retryAfterMs },
    );
  }
  // 408 is the server giving up on a slow request: as transient as a 503.
  if (status >= 500 || status === 408) {
    return new ProviderError(
      'unavailable',
      `provider unavailable for order ${label} (HTTP ${status})`,
      httpStatus,
    );
  }
  return new ProviderError(
    'contract',
    `provider response for order ${label} violates the contract: unexpected HTTP ${status}`,
    httpStatus,
  );
}

/** `Retry-After` as delta-seconds or an HTTP-date, in ms; absent or unreadable means the default. */
function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number {
  const text = header?.trim() ?? '';
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Math.ceil(Number(text) * 1000);
  } else if (/[A-Za-z]/.test(text)) {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return DEFAULT_RETRY_AFTER_MS;
    ms = at - now;
  } else {
    return DEFAULT_RETRY_AFTER_MS;
  }
  if (!Number.isFinite(ms)) return MAX_RETRY_AFTER_MS;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // The connection is going away anyway; nothing in it is needed.
  }
}

async function readBody(label: string, response: Response): Promise<Uint8Array> {
  const tooLarge = () =>
    new ProviderError(
      'contract',
      `provider response for order ${label} violates the contract: body exceeds ${MAX_BODY_BYTES} bytes`,
      { httpStatus: response.status },
    );
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_BODY_BYTES) {
    await discard(response);
    throw tooLarge();
  }
  if (!response.body) return new Uint8Array(0);

  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_BODY_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    // The body broke off mid-way (timeout or reset): the same as never getting an answer.
    throw transportError(label, err);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function parseJson(label: string, bytes: Uint8Array): unknown {
  // Neither the decoder's nor JSON.parse's message is kept: V8 quotes the offending text.
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ProviderError(
      'contract',
      `provider response for order ${label} violates the contract: body is not valid JSON`,
      { httpStatus: 200 },
    );
  }
}

function validate(label: string, orderId: string, body: unknown): ProviderOrder {
  const violation = (what: string) =>
    new ProviderError('contract', `provider response for order ${label} violates the contract: ${what}`, {
      httpStatus: 200,
    });

  // Checked before zod so that a huge array is not walked element by element only to be refused.
  const cards = (body as { cards?: unknown } | null)?.cards;
  if (Array.isArray(cards) && cards.length > MAX_CARDS) {
    throw violation(`cards has more than ${MAX_CARDS} entries`);
  }

  // reportInput lets an issue tell "missing" from "wrong type"; the input itself is never printed.
  const result = orderSchema.safeParse(body, { reportInput: true });
  if (!result.success) throw violation(describeIssues(result.error.issues));
  if (result.data.orderId !== orderId) throw violation('orderId does not match the requested order');
  return result.data;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const parts = new Set<string>();
  for (const issue of issues) {
    if (parts.size >= 3) break;
    parts.add(`${fieldPath(issue.path)} ${issueText(issue)}`);
  }
  const more = issues.length > parts.size ? ` (${issues.length} issues in all)` : '';
  return `${[...parts].join('; ')}${more}`;
}

function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path
    .map((p) => (typeof p === 'number' ? String(p) : typeof p === 'string' && KNOWN_FIELDS.has(p) ? p : '?'))
    .join('.');
}

function issueText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is missing' : `is not ${article(issue.expected)}`;
    case 'invalid_value':
      return 'is not a known value';
    case 'too_big':
      return 'is too large';
    case 'too_small':
      return 'is too small or empty';
    case 'not_multiple_of':
    case 'invalid_format':
      return 'has an invalid format';
    default:
      return 'is invalid';
  }
}

function article(expected: string): string {
  const safe = /^[a-z]{1,20}$/.test(expected) ? expected : 'the expected type';
  return /^[aeiou]/.test(safe) ? `an ${safe}` : `a ${safe}`;
}
