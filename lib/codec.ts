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
 *
 * A payload this codec did not encrypt is refused (PlaintextPayloadError), never passed through: a client
 * without the codec (the Temporal CLI, the UI without a codec endpoint, a raw SDK client) cannot hand a
 * worker input it would act on. In workers the refusal must not fail the workflow task: the payload stays
 * in history, so every retry would fail again and the order would be stuck. WorkerPayloadCodec therefore
 * turns a refused payload into a content-free marker that the worker's guards refuse by name.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { Logger } from 'pino';
import { metrics } from './metrics';
import { REASON_METADATA, REFUSED_ENCODING } from './payload-converter';
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

/**
 * A payload this codec did not encrypt: sent by a client without the codec (the Temporal CLI, the UI's
 * "Start Workflow" or "Signal" without a codec endpoint, a raw SDK client). Nothing of it is read: the
 * message names its encoding (when it is a plain name) and never its data.
 */
export class PlaintextPayloadError extends PayloadCodecError {
  override name = 'PlaintextPayloadError';
  constructor(encoding: string | undefined) {
    const shown = encoding && /^[\w./+-]{1,40}$/.test(encoding) ? `"${encoding}"` : 'an unknown one';
    super(
      `payload refused: not encrypted by the project's payload codec (its encoding is ${shown}); ` +
        'send it through a client or codec endpoint that encrypts',
    );
  }
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
    metrics.codecPayloads.inc({ operation: 'encode', result: 'ok' }, payloads.length);
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
    return Promise.all(payloads.map((p) => this.decodeCounted(p)));
  }

  private async decodeCounted(payload: Payload): Promise<Payload> {
    try {
      const decoded = await this.decodeOne(payload);
      metrics.codecPayloads.inc({ operation: 'decode', result: 'ok' });
      return decoded;
    } catch (err) {
      const result = err instanceof PlaintextPayloadError ? 'refused' : 'error';
      metrics.codecPayloads.inc({ operation: 'decode', result });
      throw err;
    }
  }

  private async decodeOne(payload: Payload): Promise<Payload> {
    if (!isCodecEncrypted(payload)) throw new PlaintextPayloadError(text(payload.metadata?.encoding));
    const id = text(payload.metadata?.[KEY_ID_METADATA]);
    const wrapped = text(payload.metadata?.[WRAPPED_KEY_METADATA]);
    if (!id || !wrapped) throw new PayloadCodecError('encrypted payload without its key metadata');
    // The id is part of the cache key, so a payload must not name one key and carry another.
    if (keyIdOf(wrapped) !== id)
      throw new PayloadCodecError('encrypted payload: its key id does not match its wrapped key');
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

/**
 * A worker's codec: what the Vault codec refuses as a bad payload (plaintext, tampered, under a key Vault
 * will not unwrap) becomes a marker without any of the payload's content, carrying only the refusal's
 * message; lib/payload-converter.js converts it to a refused value and the worker's guards refuse the start,
 * signal, update, query or activity that carried it. An outage (Vault unreachable) still fails the task, so
 * Temporal retries it once Vault is back.
 */
export class WorkerPayloadCodec implements PayloadCodec {
  constructor(private readonly codec: PayloadCodec) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    return this.codec.encode(payloads);
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        try {
          const [decoded] = await this.codec.decode([payload]);
          return decoded!;
        } catch (err) {
          if (!(err instanceof PayloadCodecError)) throw err;
          return {
            metadata: { encoding: utf8(REFUSED_ENCODING), [REASON_METADATA]: utf8(err.message) },
            data: new Uint8Array(),
          };
        }
      }),
    );
  }
}

/** Loaded by the SDK by path, in clients, workers and the workflow sandbox (see the files). */
export const failureConverterPath = path.join(__dirname, 'failure-converter.js');
export const payloadConverterPath = path.join(__dirname, 'payload-converter.js');
/** The workflow interceptors every worker's workflow bundle carries (refused payloads). */
export const workflowGuardPath = path.join(__dirname, 'workflow-guard.ts');

/** The data converter of every client: the Vault codec, and failures encoded so it covers them. */
export function dataConverterWith(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath, payloadConverterPath };
}

/** The data converter of every worker: a payload the codec refuses reaches the guards as a marker. */
export function workerDataConverterWith(codec: PayloadCodec): DataConverter {
  return { ...dataConverterWith(codec), payloadCodecs: [new WorkerPayloadCodec(codec)] };
}

/** Whether a payload is one this project's codec encrypted (it may still fail to decrypt). */
export function isCodecEncrypted(payload: Payload): boolean {
  return text(payload.metadata?.encoding) === ENCRYPTED_ENCODING;
}
