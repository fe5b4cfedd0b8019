/**
 * Ephemeral reveal keys bound to a client nonce. The app keeps a random clientSecret on the device and sends
 * only `nonce = hex(HMAC-SHA256(clientSecret, "nonce:" + timestamp))` when asking for a key; the card details
 * come out only for a request that holds both the key and the secret behind the nonce. A key that leaks
 * from a log or a proxy on its own reveals nothing, and a key is good once, for one order and one user,
 * for a few minutes.
 *
 * Neither the key nor the nonce is stored: their SHA-256 is. A key presented with the wrong secret is burnt,
 * because whoever holds it without the secret is not the device that asked for it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type Card, readCards } from '../../domain/cards';
import { type Db, Rollback, withTransaction } from '../../lib/db';
import { generateToken, hashToken } from '../../lib/tokens';
import type { Transit } from '../../lib/vault';
import { audit } from '../../store/audit';
import {
  consumeRevealKey,
  deleteStaleRevealKeys,
  insertRevealKey,
  lockRevealKey,
} from '../../store/deliveries';
import type { Requester } from '../http/requester';
import { auditOwnerReveal } from './owned-orders';

/** How far the client's timestamp may be from the server's clock, either way. */
export const CLIENT_TIMESTAMP_WINDOW_MS = 5 * 60_000;

/** The nonce the client computes; exported for tests and as the reference for app developers. */
export function clientNonce(clientSecret: string, timestamp: number): Buffer {
  return createHmac('sha256', clientSecret).update(`nonce:${timestamp}`, 'utf8').digest();
}

export function isFreshTimestamp(timestampSeconds: number, nowMs = Date.now()): boolean {
  return Math.abs(nowMs - timestampSeconds * 1000) <= CLIENT_TIMESTAMP_WINDOW_MS;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/**
 * The key's name in the audit trail: a prefix of the SHA-256 the table stores, enough to tie an issuance to
 * its burning or use, and useless for presenting the key.
 */
export function revealKeyRef(keyHash: Buffer): string {
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

export type Redemption =
  | { outcome: 'revealed'; cards: Card[] }
  /** Unknown, used, expired, another order's or user's key, or the wrong secret: one answer for all. */
  | { outcome: 'refused' }
  | { outcome: 'purged' }
  | { outcome: 'unavailable'; error: unknown };

/**
 * One transaction: the key row is locked (of two concurrent redemptions, the second sees it consumed), the
 * nonce is compared in constant time, the key is consumed, and the cards are decrypted and audited before
 * COMMIT, so a Vault failure leaves the key usable and a reveal without an audit row cannot happen.
 */
export async function redeemRevealKey(
  db: Db,
  transit: Pick<Transit, 'decryptBatch'>,
  input: {
    orderId: string;
    userId: string;
    revealKey: string;
    clientSecret: string;
    timestamp: number;
    requester: Requester;
    method: string;
  },
): Promise<Redemption> {
  const presented = sha256(clientNonce(input.clientSecret, input.timestamp));
  const keyHash = hashToken(input.revealKey);
  return withTransaction(db, async (client) => {
    const nonceHash = await lockRevealKey(client, { keyHash, orderId: input.orderId, userId: input.userId });
    if (!nonceHash) return { outcome: 'refused' } as const;

    await consumeRevealKey(client, keyHash);
    if (!timingSafeEqual(nonceHash, presented)) {
      // Whoever holds the key without the device's secret is not the device that asked for it.
      await audit(client, {
        orderId: input.orderId,
        event: 'REVEAL_KEY_BURNED',
        actor: `user:${input.userId}`,
        method: input.method,
        ...input.requester,
        detail: { key: revealKeyRef(keyHash), reason: 'presented without its client secret' },
      });
      return { outcome: 'refused' } as const;
    }

    const read = await readCards(client, transit, { orderId: input.orderId });
    if (read.outcome === 'none') throw new Rollback<Redemption>({ outcome: 'purged' });
    if (read.outcome === 'unavailable') throw new Rollback<Redemption>(read);
    await auditOwnerReveal(client, input, read.cards.length, 'reveal-key');
    return { outcome: 'revealed', cards: read.cards } as const;
  });
}
