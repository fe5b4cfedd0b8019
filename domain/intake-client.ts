/**
 * A typed client of the intake API for callers (and for this project's own CLI and tests): the paths,
 * bodies and answers are the OpenAPI document's (contracts/openapi-types.ts, generated from
 * contracts/openapi.json), openapi-fetch carries the requests, and every request is signed on its way out
 * with the caller's secret (domain/signing.ts): the body's bytes as sent, or for a GET the request line.
 *
 *   const intake = intakeClient('https://cards.example', { name: 'checkout', secret });
 *   const { data, error, response } = await intake.POST('/v1/fulfillments', { body: order });
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from '../contracts/openapi-types';
import { signatureHeader } from './signing';

export interface IntakeCaller {
  /** The caller's name, as INTAKE_CLIENTS lists it. */
  name: string;
  secret: string;
}

export type IntakeClient = Client<paths>;

/** Signs each request as `caller` (X-Intake-Client, X-Intake-Timestamp, X-Intake-Signature). */
function intakeSigning(caller: IntakeCaller, now: () => number = Date.now): Middleware {
  return {
    async onRequest({ request }) {
      const timestamp = String(Math.floor(now() / 1000));
      const url = new URL(request.url);
      const payload =
        request.method === 'GET'
          ? `GET ${url.pathname}${url.search}`
          : Buffer.from(await request.clone().arrayBuffer());
      request.headers.set('x-intake-client', caller.name);
      request.headers.set('x-intake-timestamp', timestamp);
      request.headers.set('x-intake-signature', signatureHeader(caller.secret, timestamp, payload));
      return request;
    },
  };
}

export function intakeClient(
  baseUrl: string,
  caller: IntakeCaller,
  opts: { fetch?: typeof fetch } = {},
): IntakeClient {
  const client = createClient<paths>({ baseUrl, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  client.use(intakeSigning(caller));
  return client;
}
