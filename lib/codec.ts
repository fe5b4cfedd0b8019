/**
 * The Temporal payload codec (DESIGN 3.6): every payload (inputs, results, signals, queries, memos, and
 * failure messages through the failure converter) leaves the process AES-256-GCM encrypted, so Temporal's
 * database, its UI and anyone reading history see ciphertext.
 *
 * Envelope encryption through Vault transit: a process asks Vault for a data key (`datakey/plaintext`),
 * encrypts locally with it and ships the Vault-wrapped copy in each payload's metadata. Any process whose
 * Vault role may `decrypt` with the codec key can unwrap it, so a payload written by one worker is read by
 * another worker, the API, the CLI or the codec endpoint, and the codec key itself never leaves Vault.
 *
 * Payload wire format: metadata `encoding: binary/encrypted`, `encryption-key-id` (16 hex characters of
 * SHA-256 over the wrapped key, the same in every process), `encryption-key` (the wrapped data key);
 * data = IV (12 random bytes) ‖ ciphertext ‖ GCM tag (16 bytes) of the serialized original Payload, with the
 * key id as additional authenticated data.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { Logger } from 'pino';
import { type Transit, VaultError } from './vault';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const WRAPPED_KEY_METADATA = 'encryption-key';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
// Refreshing the data key failed (Vault away): keep the current one and try again after this long.
const REFRESH_RETRY_MS = 60_000;

/** A payload that cannot be decrypted: tampered, truncated, or under a key this process cannot unwrap. */
export class PayloadCodecError extends Error {
  override name = 'PayloadCodecError';
}

export interface CodecOptions {
  /** The transit key that wraps data keys (VAULT_CODEC_KEY). */
  keyName: string;
  /** How long one data key encrypts before a new one is asked for (CODEC_KEY_ROTATION). */
  rotationMs: number;
  /** Unwrapped data keys kept in memory for decoding; each one saves a Vault round trip. */
  cacheSize?: number;
  log?: Logger;
}

interface DataKey {
  id: string;
  wrapped: string;
  key: Buffer;
  createdAt: number;
}

type KeyVault = Pick<Transit, 'dataKey' | 'unwrapDataKey'>;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/** Derived from the wrapped key, so every process names the same data key the same way. */
export function keyIdOf(wrapped: string): string {
  return createHash('sha256').update(wrapped).digest('hex').slice(0, 16);
}

export class VaultPayloadCodec implements PayloadCodec {
  private current?: DataKey;
  private refreshing?: Promise<DataKey>;
  private retryRefreshAt = 0;
  // Insertion order doubles as recency: a hit is re-inserted, the oldest entry is evicted first.
  private readonly unwrapped = new Map<string, Promise<Buffer>>();
  private readonly cacheSize: number;

  constructor(
    private readonly vault: KeyVault,
    private readonly opts: CodecOptions,
  ) {
    this.cacheSize = opts.cacheSize ?? 256;
  }

  /**
   * Gets the first data key now, while the process starts (and waits for Vault anyway). Afterwards encoding
   * never depends on Vault: a due rotation that fails keeps the current key. That matters because the SDK
   * cannot fail a single task on an encoding error everywhere: encoding an activity's failure, for one,
   * fails the whole worker.
   */
  async ready(): Promise<void> {
    await this.dataKey();
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (payloads.length === 0) return payloads;
    const dk = await this.dataKey();
    return payloads.map((payload) => {
      const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', dk.key, iv);
      cipher.setAAD(utf8(dk.id));
      const data = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: utf8(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: utf8(dk.id),
          [WRAPPED_KEY_METADATA]: utf8(dk.wrapped),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((p) => this.decodeOne(p)));
  }

  private async decodeOne(payload: Payload): Promise<Payload> {
    // Payloads written before the codec existed, or that never pass through it (none today), stay readable.
    if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
    const id = text(payload.metadata?.[KEY_ID_METADATA]);
    const wrapped = text(payload.metadata?.[WRAPPED_KEY_METADATA]);
    if (!id || !wrapped) throw new PayloadCodecError('encrypted payload without its key metadata');
    // The id is part of the cache key, so a payload must not name one key and carry another.
    if (keyIdOf(wrapped) !== id)
      throw new PayloadCodecError(`encrypted payload: key metadata does not match key ${id}`);
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new PayloadCodecError(`encrypted payload (key ${id}) is truncated`);

    const key = await this.unwrap(id, wrapped);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(utf8(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      plaintext = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new PayloadCodecError(
        `encrypted payload (key ${id}) failed authentication: tampered or corrupted`,
      );
    }
    const inner = temporal.api.common.v1.Payload.decode(plaintext);
    return { metadata: inner.metadata, data: inner.data };
  }

  /** The data key to encrypt with: created on first use, replaced once it is older than the rotation period. */
  private async dataKey(): Promise<DataKey> {
    const now = Date.now();
    const cur = this.current;
    if (cur && (now - cur.createdAt < this.opts.rotationMs || now < this.retryRefreshAt)) return cur;
    this.refreshing ??= this.newDataKey().finally(() => {
      this.refreshing = undefined;
    });
    if (!cur) return this.refreshing;
    // A due rotation must not stop orders while Vault is unavailable: the old key stays valid meanwhile.
    return this.refreshing.catch((err: unknown) => {
      this.retryRefreshAt = Date.now() + REFRESH_RETRY_MS;
      this.opts.log?.warn({ err, keyId: cur.id }, 'codec data key rotation failed; keeping the current key');
      return cur;
    });
  }

  private async newDataKey(): Promise<DataKey> {
    const { plaintext, ciphertext } = await this.vault.dataKey(this.opts.keyName);
    if (plaintext.length !== KEY_BYTES)
      throw new PayloadCodecError(`Vault returned a ${plaintext.length}-byte data key`);
    const dk: DataKey = {
      id: keyIdOf(ciphertext),
      wrapped: ciphertext,
      key: plaintext,
      createdAt: Date.now(),
    };
    this.remember(dk.id, Promise.resolve(dk.key));
    this.current = dk;
    this.opts.log?.info({ keyId: dk.id, transitKey: this.opts.keyName }, 'codec data key created');
    return dk;
  }

  private unwrap(id: string, wrapped: string): Promise<Buffer> {
    const cached = this.unwrapped.get(id);
    if (cached) {
      this.unwrapped.delete(id);
      this.unwrapped.set(id, cached);
      return cached;
    }
    const pending = this.vault.unwrapDataKey(this.opts.keyName, wrapped).then(
      (key) => {
        if (key.length !== KEY_BYTES) throw new PayloadCodecError(`data key ${id} has the wrong length`);
        return key;
      },
      (err: unknown) => {
        // Not cached: the next payload asks Vault again.
        this.unwrapped.delete(id);
        // Vault unreachable or failing is an outage, not a bad payload: it surfaces as itself.
        if (!(err instanceof VaultError) || err.status === undefined || err.status >= 500) throw err;
        throw new PayloadCodecError(`data key ${id} was refused by Vault: ${err.message}`);
      },
    );
    this.remember(id, pending);
    return pending;
  }

  private remember(id: string, key: Promise<Buffer>): void {
    this.unwrapped.set(id, key);
    while (this.unwrapped.size > this.cacheSize) {
      const oldest = this.unwrapped.keys().next().value as string;
      this.unwrapped.delete(oldest);
    }
  }
}

/** Loaded by the SDK by path, in clients, workers and the workflow sandbox (see the file). */
export const failureConverterPath = path.join(__dirname, 'failure-converter.js');

/** The data converter of every client and worker: the Vault codec, and failures encoded so it covers them. */
export function dataConverterWith(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath };
}
