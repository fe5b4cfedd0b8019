/**
 * Seeds a delivered order the way the worker stores one: card values and serials encrypted through Vault
 * transit with the worker's own AppRole (encrypt + hmac, no decrypt), under the current month's derived
 * card key with the order id as context, deduplicated by a pinned-version transit HMAC, then a delivery
 * and its link token (stored as SHA-256 only). Returns the plaintext so tests can check what comes out.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { config } from '../../lib/config';
import { type Db, withTransaction } from '../../lib/db';
import { generateToken, hashToken } from '../../lib/tokens';
import { connectVault, type VaultSession } from '../../lib/vault';

export interface SeedCard {
  value: string;
  serial: string;
}

export interface SeedOptions {
  /** Defaults to `test-api-<uuid>`. */
  orderId?: string;
  /** How many random cards to create, or the exact cards. Default 2. */
  cards?: number | SeedCard[];
  /** Default: one hour from now. A past date makes an expired link (not yet marked by the expiry activity). */
  expiresAt?: Date;
  revoked?: boolean;
  consumed?: boolean;
  /** Marked expired by the expiry activity (expired_at set). */
  expired?: boolean;
  /** Encrypt under another derivation context: a ciphertext that does not belong to this order. */
  encryptionContext?: string;
}

export interface SeededOrder {
  orderId: string;
  deliveryId: string;
  token: string;
  keyName: string;
  cards: SeedCard[];
}

export interface Seeder {
  seed(options?: SeedOptions): Promise<SeededOrder>;
  /** Deletes an order's cards as retention's purge does (delivery_cards rows go with them). */
  purgeCards(orderId: string): Promise<void>;
  /** Removes every seeded order's rows; the audit trail is append-only and stays. */
  cleanup(): Promise<void>;
  close(): void;
}

// The provider's code alphabet, without look-alike characters.
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export function randomCard(): SeedCard {
  const group = () =>
    Array.from({ length: 4 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
  const serial = Array.from({ length: 12 }, (_, i) => (i === 0 ? randomInt(1, 10) : randomInt(10))).join('');
  return { value: [group(), group(), group(), group()].join('-'), serial };
}

/** The month bucket the worker encrypts new cards under. */
function currentCardKey(now = new Date()): string {
  const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  return `${config().VAULT_CARD_KEY_PREFIX}-${month}`;
}

export async function createSeeder(db: Db): Promise<Seeder> {
  const cfg = config();
  const vault: VaultSession = await connectVault('worker');
  const seeded: string[] = [];

  const seed = async (options: SeedOptions = {}): Promise<SeededOrder> => {
    const orderId = options.orderId ?? `test-api-${randomUUID()}`;
    const cards =
      typeof options.cards === 'object'
        ? options.cards
        : Array.from({ length: options.cards ?? 2 }, () => randomCard());
    const keyName = currentCardKey();
    const context = options.encryptionContext ?? orderId;

    const ciphertexts = await vault.transit.encryptBatch(
      keyName,
      cards.flatMap((c) => [
        { plaintext: c.value, context },
        { plaintext: c.serial, context },
      ]),
    );
    const blindIndexes = await vault.transit.hmacBatch(
      cfg.VAULT_INDEX_KEY,
      cards.map((c) => c.value),
      cfg.VAULT_INDEX_KEY_VERSION,
    );

    const token = generateToken();
    const deliveryId = `${orderId}:batch-1`;
    const expiresAt = options.expiresAt ?? new Date(Date.now() + 60 * 60 * 1000);

    seeded.push(orderId);
    await withTransaction(db, async (client) => {
      await client.query(
        `INSERT INTO orders (order_id, user_id, workflow_id, provider_status, quantity, delivered_at)
         VALUES ($1, $2, $3, 'FULFILLED', $4, now())`,
        [orderId, 'test-user', `giftcard-${orderId}`, cards.length],
      );
      const cardIds: string[] = [];
      for (const i of cards.keys()) {
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO cards (order_id, blind_index, value_ct, serial_ct, key_name)
           VALUES ($1, $2, $3, $4, $5) RETURNING id`,
          [orderId, blindIndexes[i], ciphertexts[2 * i], ciphertexts[2 * i + 1], keyName],
        );
        cardIds.push(rows[0]!.id);
      }
      await client.query(
        `INSERT INTO deliveries (id, order_id, kind, card_count, expires_at, sent_at)
         VALUES ($1, $2, 'batch', $3, $4, now())`,
        [deliveryId, orderId, cards.length, expiresAt],
      );
      await client.query(
        'INSERT INTO delivery_cards (delivery_id, card_id) SELECT $1, unnest($2::bigint[])',
        [deliveryId, cardIds],
      );
      await client.query(
        `INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at, consumed_at, revoked_at, expired_at)
         VALUES ($1, $2, $3, $4,
                 CASE WHEN $5 THEN now() END, CASE WHEN $6 THEN now() END, CASE WHEN $7 THEN now() END)`,
        [
          hashToken(token),
          deliveryId,
          orderId,
          expiresAt,
          options.consumed ?? false,
          options.revoked ?? false,
          options.expired ?? false,
        ],
      );
    });
    return { orderId, deliveryId, token, keyName, cards };
  };

  const purgeCards = async (orderId: string) => {
    await db.query('DELETE FROM cards WHERE order_id = $1', [orderId]);
  };

  const cleanup = async () => {
    const ids = seeded.splice(0);
    if (ids.length === 0) return;
    await withTransaction(db, async (client) => {
      await client.query('DELETE FROM delivery_tokens WHERE order_id = ANY($1)', [ids]);
      await client.query('DELETE FROM deliveries WHERE order_id = ANY($1)', [ids]);
      await client.query('DELETE FROM cards WHERE order_id = ANY($1)', [ids]);
      await client.query('DELETE FROM orders WHERE order_id = ANY($1)', [ids]);
    });
  };

  return { seed, purgeCards, cleanup, close: () => vault.close() };
}
