/**
 * An intake caller's requests as a caller makes them: through the typed client generated from the OpenAPI
 * document (domain/intake-client.ts), signed with the caller's own secret.
 */
import { type IntakeCaller, intakeClient } from '../../domain/intake-client';
import type { OrderRequest } from '../../domain/orders';

export { intakeClient };

const RECIPIENT = /^\/v1\/fulfillments\/([^/]+)\/recipient$/;

/**
 * POST `path` (an order, or a recipient correction) as `caller`; the answer as it came, body unread (the
 * client is told to leave it as a stream), for tests that look at the status, headers and text.
 */
export async function signedIntake(
  apiUrl: string,
  caller: IntakeCaller,
  path: string,
  body: object,
): Promise<Response> {
  const client = intakeClient(apiUrl, caller);
  const correction = RECIPIENT.exec(path);
  if (correction) {
    const { response } = await client.POST('/v1/fulfillments/{orderId}/recipient', {
      params: { path: { orderId: decodeURIComponent(correction[1]!) } },
      body: body as { orderId: string; email: string },
      parseAs: 'stream',
    });
    return response;
  }
  if (path !== '/v1/fulfillments') throw new Error(`not an intake POST: ${path}`);
  const { response } = await client.POST('/v1/fulfillments', {
    body: body as OrderRequest,
    parseAs: 'stream',
  });
  return response;
}
