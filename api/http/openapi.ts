/**
 * The API's OpenAPI 3.1 document, generated from the routes' own zod schemas (fastify-type-provider-zod):
 * what validates a request and serializes a response is what the document says, so the two cannot drift.
 * Committed as contracts/openapi.json (`npm run contracts:openapi`; test/unit/openapi.test.ts fails when
 * it differs), served at GET /openapi.json, browsable at /docs (Swagger UI, its files served from here).
 *
 * Only tagged routes are described: the public surfaces (intake, in-app, the emailed link, health). The
 * operators' codec endpoint is not a public route.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { clientIp, createLimiters } from './rate-limits';

export const TAGS = {
  intake: 'intake',
  inApp: 'in-app',
  links: 'links',
  health: 'health',
} as const;

/** The intake's HMAC scheme: three headers, all required together (one security requirement). */
export const INTAKE_SECURITY = [{ intakeClient: [], intakeTimestamp: [], intakeSignature: [] }];
export const IN_APP_SECURITY = [{ appToken: [] }];
/** Open to anyone: health, and the link's pages (whose token, in the path, is the only credential). */
export const NO_SECURITY = [];

/**
 * Swagger UI's page loads its own script and style files and styles elements inline; it fetches the
 * document from this origin. Only its pages get this policy; every other response keeps the strict one
 * (http/security-headers.ts).
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Requests for the document and its pages per client and minute (per process: they guess nothing). */
const DOCS_PER_MINUTE = 120;

/** Operations whose body may be left out (Fastify's schema support would say every body is required). */
const optionalBodies = new Set<string>();

/** A route schema whose body is optional, as the document will say. */
export function withOptionalBody<T extends { operationId: string }>(schema: T): T {
  optionalBodies.add(schema.operationId);
  return schema;
}

/** Before any route: route schemas are zod, and the document collects every route registered after it. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gift card fulfillment API',
        version: '1.0.0',
        description:
          'Upstream systems start orders and follow them (intake, HMAC-signed); the customer app shows a ' +
          "signed-in user's cards (in-app); the customer's emailed link shows or downloads them once (links). " +
          'Every JSON error is RFC 9457 problem details. Guide: docs/apis.md.',
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      },
      // Relative: the document is served by the API it describes, at PUBLIC_BASE_URL.
      servers: [{ url: '/', description: 'This API' }],
      tags: [
        {
          name: TAGS.intake,
          description: 'Upstream systems: start an order, read its status, correct its recipient',
        },
        { name: TAGS.inApp, description: "The customer app: the signed-in user's own cards" },
        { name: TAGS.links, description: "The customer's emailed link: HTML pages and the download" },
        { name: TAGS.health, description: 'Liveness for load balancers' },
      ],
      components: {
        securitySchemes: {
          intakeClient: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Intake-Client',
            description: 'The caller, as INTAKE_CLIENTS names it',
          },
          intakeTimestamp: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Intake-Timestamp',
            description: 'Unix seconds; refused outside INTAKE_WINDOW of the server clock',
          },
          intakeSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Intake-Signature',
            description:
              '`v2=<hex HMAC-SHA256(secret, "giftcards-intake\\n" + timestamp + "." + payload)>`; the payload ' +
              'is the body as sent, or for a GET the request line (`GET /v1/fulfillments/<orderId>`). ' +
              'Each signature is accepted once.',
          },
          appToken: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: "The customer app's token for the signed-in user (its subject)",
          },
        },
      },
    },
    hideUntagged: true,
    transform: jsonSchemaTransform,
    transformObject: (documentObject) =>
      withOptionalBodies(withoutUnusedSchemas(jsonSchemaTransformObject(documentObject))),
  });
}

function withOptionalBodies<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, OperationObject>> }).paths ?? {};
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations))
      if (operation.requestBody && optionalBodies.has(operation.operationId ?? ''))
        operation.requestBody.required = false;
  return document;
}

interface OperationObject {
  operationId?: string;
  requestBody?: { required?: boolean };
}

/**
 * Every named zod schema is made a component twice, as read (`…Input`) and as written; only the ones a
 * route uses stay, or the document would describe shapes no route has.
 */
function withoutUnusedSchemas<T>(document: T): T {
  const doc = document as { components?: { schemas?: Record<string, unknown> } };
  const schemas = doc.components?.schemas;
  if (!schemas) return document;
  const refsIn = (value: unknown) =>
    [...JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
  const used = new Set<string>();
  const pending = refsIn({ ...doc, components: { ...doc.components, schemas: {} } });
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (used.has(name)) continue;
    used.add(name);
    pending.push(...refsIn(schemas[name]));
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...doc, components: { ...doc.components, schemas: kept } } as T;
}

/** GET /openapi.json and the browsable /docs. */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  const [byIp] = await createLimiters(app, [
    { name: 'docs:ip', max: DOCS_PER_MINUTE, key: clientIp, perProcess: true },
  ]);
  app.get('/openapi.json', { onRequest: byIp!, schema: { hide: true } }, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(JSON.stringify(app.swagger(), null, 2)),
  );
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    uiHooks: { onRequest: byIp! },
  });
}
