/** An intake caller's request as the caller makes it: its JSON body, signed with its own secret. */
import { signatureHeader } from '../../domain/signing';

export function signedIntake(
  apiUrl: string,
  caller: { name: string; secret: string },
  path: string,
  body: object,
) {
  const text = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return fetch(`${apiUrl}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-intake-client': caller.name,
      'x-intake-timestamp': timestamp,
      'x-intake-signature': signatureHeader(caller.secret, timestamp, text),
    },
    body: text,
  });
}
