/**
 * Ephemeral reveal keys bound to a client nonce. The app keeps a random clientSecret on the device and sends
 * only `nonce = hex(HMAC-SHA256(clientSecret, "nonce:" + timestamp))` when asking for a key; the card details
 * come out only for a request that holds both the key and the secret behind the nonce. A key that leaks
 * from a log or a proxy on its own reveals nothing, and a key is good once, for one order and one user,
 * for a few minutes. Each card is shown in the app once: a key redeemed after every card was shown
 * shows nothing (the link emailed to the customer is the other way to the cards, once too).
 *
 * Neither the key nor the nonce is stored: their SHA-256 is. A key presented with the wrong secret is burnt,
 * because whoever holds it without the secret is not the device that asked for it.
 */
import { createHash } from 'node:crypto';
import {
  clientNonce,
  type Decryptor,
  type RedeemKeyRequest,
  type Redemption,
} from '../../domain/decryptor-client';
import { type Db, withTransaction } from '../../lib/db';
import { generateToken, hashToken } from '../../lib/tokens';
import { audit } from '../../store/audit';
import { deleteStaleRevealKeys, insertRevealKey } from '../../store/deliveries';
import type { Requester } from '../http/requester';

/** How far the client's timestamp may be from the server's clock, either way. */
const CLIENT_TIMESTAMP_WINDOW_MS = 5 * 60_000;

/** The nonce the client computes (domain/decryptor-client.ts); the reference for app developers. */
export { clientNonce };

export function isFreshTimestamp(timestampSeconds: number, nowMs = Date.now()): boolean {
  return Math.abs(nowMs - timestampSeconds * 1000) <= CLIENT_TIMESTAMP_WINDOW_MS;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/**
 * The key's name in the audit trail: a prefix of the SHA-256 the table stores, enough to tie an issuance to
 * its burning or use, and useless for presenting the key.
 */
function revealKeyRef(keyHash: Buffer): string {
  return keyHash.toString('hex').slice(0, 12);
}

/** A new key, and its REVEAL_KEY_ISSUED audit row in the same transaction. */
export async function issueRevealKey(
  db: Db,
  input: {
    orderId: string;
    userId: string;
    nonce: Buffer;
    ttlMs: number;
    requester: Requester;
    method: string;
  },
): Promise<{ revealKey: string; expiresAt: Date }> {
  const revealKey = generateToken();
  const keyHash = hashToken(revealKey);
  return withTransaction(db, async (client) => {
    const expiresAt = await insertRevealKey(client, {
      keyHash,
      orderId: input.orderId,
      userId: input.userId,
      nonceHash: sha256(input.nonce),
      ttlMs: input.ttlMs,
    });
    await audit(client, {
      orderId: input.orderId,
      event: 'REVEAL_KEY_ISSUED',
      actor: `user:${input.userId}`,
      method: input.method,
      ...input.requester,
      detail: { key: revealKeyRef(keyHash), expiresAt: expiresAt.toISOString() },
    });
    // Spent and expired keys are worth nothing; the user's own old rows go while we are here.
    await deleteStaleRevealKeys(client, input.userId);
    return { revealKey, expiresAt };
  });
}

/**
 * Redeems a key through the decryptor (the API holds no card key): it consumes the key, compares the
 * nonce, shows the order's cards not shown in the app before and audits it, in one transaction
 * (decryptor/reveal.ts). A decryptor that does not answer is an unavailable reveal.
 */
export async function redeemRevealKey(
  decryptor: Pick<Decryptor, 'redeemRevealKey'>,
  input: RedeemKeyRequest,
): Promise<Redemption | { outcome: 'unreachable'; error: unknown }> {
  try {
    return await decryptor.redeemRevealKey(input);
  } catch (error) {
    return { outcome: 'unreachable', error };
  }
}
