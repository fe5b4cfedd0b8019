/**
 * The intake routes' schemas: what validates each request and serializes each response, and what the
 * OpenAPI document says of them (http/openapi.ts). Requests are the domain's own schemas (domain/orders),
 * registered here under the names the document gives them; responses are what the routes answer.
 */
import { z } from 'zod';
import { orderIdSchema, orderRequestSchema, recipientCorrectionSchema } from '../../domain/orders';
import { INTAKE_SECURITY } from '../http/openapi';
import { problemResponses } from '../http/problems';
import { IDEMPOTENCY_TTL_HOURS } from './idempotency';
import type { FulfillmentStatus } from './status';

z.globalRegistry.add(orderRequestSchema, {
  id: 'OrderRequest',
  description: 'An order to fulfil: the customer, where the link goes, and how the order behaves',
});
z.globalRegistry.add(recipientCorrectionSchema, {
  id: 'RecipientCorrection',
  description: 'A corrected recipient for an order whose recipient the mail server refused',
});

const startedOrderSchema = z
  .object({
    workflowId: z.string().describe("The order's workflow id"),
    existing: z.boolean().describe('True when the order id already had a workflow: nothing new was started'),
  })
  .meta({ id: 'StartedOrder' });

const timestamp = z.iso.datetime({ offset: true });

const fulfillmentStatusSchema = z
  .object({
    orderId: z.string(),
    phase: z.enum(['collecting', 'delivered', 'failed', 'cancelled', 'purged']),
    outcome: z.string().nullable(),
    failureReason: z.string().nullable(),
    providerStatus: z.string(),
    quantity: z.number().int().nullable(),
    storedCards: z.number().int(),
    deliveredCards: z.number().int(),
    createdAt: timestamp,
    purgedAt: timestamp.nullable(),
    deliveries: z.array(
      z.object({
        id: z.string(),
        kind: z.string(),
        cardCount: z.number().int(),
        state: z.enum(['pending', 'active', 'retrieved', 'revoked', 'expired', 'purged']),
        sentAt: timestamp.nullable(),
        expiresAt: timestamp,
      }),
    ),
    events: z.object({
      lastSequence: z.number().int(),
      delivered: z.number().int(),
      undeliverable: z.array(z.string()),
    }),
  })
  .meta({
    id: 'FulfillmentStatus',
    description: 'Counts, ids, states and times: never a card, a token, a link or an email address',
  });

// The status route answers what status.ts reads: the two types must stay one.
const sameStatus: [FulfillmentStatus, z.infer<typeof fulfillmentStatusSchema>] = [
  {} as z.infer<typeof fulfillmentStatusSchema>,
  {} as FulfillmentStatus,
];
void sameStatus;

const correctionSentSchema = z
  .object({ orderId: z.string(), cardCount: z.number().int(), expiresAt: timestamp })
  .meta({ id: 'CorrectionSent' });

const correctionPendingSchema = z
  .object({ orderId: z.string(), pending: z.literal(true) })
  .meta({ id: 'CorrectionPending' });

/**
 * The IETF draft's header (draft-ietf-httpapi-idempotency-key-header): a Structured Field string, so
 * quoted; a bare token is taken too, since most clients send one.
 */
const idempotencyKeySchema = z
  .string()
  .regex(
    /^(?:"[\x21\x23-\x5b\x5d-\x7e]{1,255}"|[\x21\x23-\x5b\x5d-\x7e]{1,255})$/,
    '1-255 printable characters',
  )
  .transform((value) => (value.startsWith('"') ? value.slice(1, -1) : value))
  .describe(
    `Makes the request safe to retry: the same key and body within ${IDEMPOTENCY_TTL_HOURS} hours gets the first ` +
      'answer again; the same key with another body is 422; while the first request with the key is still ' +
      'being carried out, 409. A UUID is a good key.',
  );

/** Every route's refusals before its handler: the caller and timestamp, the signature, the budget. */
const REFUSED = [401, 429];

export const startOrderSchema = {
  tags: ['intake'],
  operationId: 'startOrder',
  summary: 'Start an order',
  description:
    'One workflow per order id. The order id belongs to the first caller and request intake accepted for ' +
    'it: another caller, or the same id with any field changed, is 409. Each signature is accepted once ' +
    '(a replay is 409).',
  security: INTAKE_SECURITY,
  headers: z.looseObject({ 'idempotency-key': idempotencyKeySchema.optional() }),
  body: orderRequestSchema,
  response: {
    200: startedOrderSchema.describe('The same caller sent this request before: the order exists'),
    202: startedOrderSchema.describe('The order was started'),
    ...problemResponses([400, ...REFUSED, 409, 413, 415, 422, 503], {
      409: 'The signature was seen before, the order id belongs to another caller or request, or a request with this Idempotency-Key is still being carried out',
      422: 'The Idempotency-Key was used with another body',
    }),
  },
};

const orderParamsSchema = z.object({ orderId: orderIdSchema });

export const orderStatusSchema = {
  tags: ['intake'],
  operationId: 'getOrderStatus',
  summary: "An order's status",
  description:
    'Signed over the request line (`GET /v1/fulfillments/<orderId>`) rather than a body. Another ' +
    "caller's order and an unknown one are the same 404. Read from the database: it answers for orders " +
    'whose workflow is long finished too.',
  security: INTAKE_SECURITY,
  params: orderParamsSchema,
  response: {
    200: fulfillmentStatusSchema.describe("The order's status"),
    ...problemResponses([400, ...REFUSED, 404]),
  },
};

export const correctRecipientSchema = {
  tags: ['intake'],
  operationId: 'correctRecipient',
  summary: 'Correct a refused recipient and send a new link',
  description:
    'Only for an order whose recipient the mail server refused; the old link is revoked. The body names ' +
    'the order again (the signature covers it), and it must be the one in the path.',
  security: INTAKE_SECURITY,
  params: orderParamsSchema,
  body: recipientCorrectionSchema,
  response: {
    200: correctionSentSchema.describe('The new link was sent'),
    202: correctionPendingSchema.describe('Accepted; the mail server keeps saying "later"'),
    ...problemResponses([400, ...REFUSED, 404, 409, 413, 415, 422, 503], {
      409: 'A replayed signature, or the order has nothing to send or refused the correction (`detail` says why)',
      422: 'The mail server refused the new address too',
    }),
  },
};
