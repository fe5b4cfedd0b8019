/**
 * An intake caller's requests as a caller makes them: through the typed client generated from the OpenAPI
 * document (domain/intake-client.ts), signed with the caller's own secret.
 */
import { type IntakeCaller, intakeClient } from '../../domain/intake-client';
import type { OrderRequest } from '../../domain/orders';

export { intakeClient };

const RECIPIENT = /^\/v1\/fulfillments\/([^/]+)\/recipient$/;

/**
 * POST `path` (an order, or a recipient correction) as `caller`; the answer as it came, its body unread, for
 * tests that look at the status, headers and text (the client reads its own copy).
 */
export async function signedIntake(
  apiUrl: string,
  caller: IntakeCaller,
  path: string,
  body: object,
): Promise<Response> {
  let answer: Response | undefined;
  const client = intakeClient(apiUrl, caller, {
    fetch: async (request) => {
      const response = await fetch(request);
      answer = response.clone();
      return response;
    },
  });
  const correction = RECIPIENT.exec(path);
  if (correction) {
    await client.POST('/v1/fulfillments/{orderId}/recipient', {
      params: { path: { orderId: decodeURIComponent(correction[1]!) } },
      body: body as { orderId: string; email: string },
    });
  } else {
    if (path !== '/v1/fulfillments') throw new Error(`not an intake POST: ${path}`);
    await client.POST('/v1/fulfillments', { body: body as OrderRequest });
  }
  if (!answer) throw new Error('no answer');
  return answer;
}
