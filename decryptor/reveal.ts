/**
 * The decryptor's two operations: consume a link token, or redeem a reveal key, and decrypt exactly the
 * cards that capability covers, in one database transaction. The claim, the card rows' locks and the
 * audit row are one statement (store/cards.ts revealLink, revealKey); Vault decrypts while the transaction is open, so a Vault failure
 * rolls everything back and the link or key stays usable, and no card leaves without its audit row. Every
 * Vault request gives up after VAULT_REQUEST_TIMEOUT (lib/vault.ts), so the rows are held no longer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decryptCards } from '../domain/cards';
import {
  type ConsumeLinkRequest,
  clientNonce,
  type RedeemKeyRequest,
  type Redemption,
  type Retrieval,
} from '../domain/decryptor-client';
import { type Db, Rollback, withTransaction } from '../lib/db';
import { hashToken, looksLikeToken } from '../lib/tokens';
import type { Transit } from '../lib/vault';
import { revealKey, revealLink } from '../store/cards';

export type CardTransit = Pick<Transit, 'decryptBatch'>;

/** What a failed decryption says to the API: the kind of failure, never an input. */
const failure = (err: unknown) => (err instanceof Error ? err.message : 'decryption failed');

export async function consumeLink(
  db: Db,
  transit: CardTransit,
  request: ConsumeLinkRequest,
): Promise<Retrieval> {
  if (!looksLikeToken(request.token)) return { outcome: 'unknown' };
  return withTransaction(db, async (client): Promise<Retrieval> => {
    const link = await revealLink(client, hashToken(request.token), request.method, request.requester);
    if (!link) return { outcome: 'unknown' };
    const { orderId, deliveryId, caller } = link;
    if (!link.claimed) return { outcome: 'gone', orderId, deliveryId, caller };
    if (link.cards.length === 0)
      throw new Rollback<Retrieval>({ outcome: 'purged', orderId, deliveryId, caller });
    try {
      const cards = await decryptCards(transit, orderId, link.cards);
      return { outcome: 'retrieved', orderId, deliveryId, caller, cards };
    } catch (err) {
      throw new Rollback<Retrieval>({
        outcome: 'unavailable',
        orderId,
        deliveryId,
        caller,
        error: failure(err),
      });
    }
  });
}

/** The nonce as the key's row stores it: the SHA-256 of the one the app derives from its secret. */
function presentedNonceHash(clientSecret: string, timestamp: number): Buffer {
  return createHash('sha256').update(clientNonce(clientSecret, timestamp)).digest();
}

/**
 * Redeems a reveal key: consumed whatever happens next; with its device's secret it shows the order's
 * cards not shown in the app before (each card once), and without it the key is burnt.
 */
export async function redeemRevealKey(
  db: Db,
  transit: CardTransit,
  input: RedeemKeyRequest,
): Promise<Redemption> {
  if (!looksLikeToken(input.revealKey)) return { outcome: 'refused' };
  const keyHash = hashToken(input.revealKey);
  const presented = presentedNonceHash(input.clientSecret, input.timestamp);
  return withTransaction(db, async (client): Promise<Redemption> => {
    const key = await revealKey(client, {
      keyHash,
      orderId: input.orderId,
      userId: input.userId,
      presentedNonceHash: presented,
      method: input.method,
      requester: input.requester,
      keyRef: keyHash.toString('hex').slice(0, 12),
    });
    if (!key) return { outcome: 'refused' };
    // Burnt (and audited as such by the statement): whoever holds the key without the device's secret is
    // not the device that asked for it.
    if (!timingSafeEqual(key.nonceHash, presented)) return { outcome: 'refused' };
    if (key.stored === 0) throw new Rollback<Redemption>({ outcome: 'purged' });
    if (key.cards.length === 0) throw new Rollback<Redemption>({ outcome: 'spent' });
    try {
      return { outcome: 'revealed', cards: await decryptCards(transit, input.orderId, key.cards) };
    } catch (err) {
      throw new Rollback<Redemption>({ outcome: 'unavailable', error: failure(err) });
    }
  });
}
