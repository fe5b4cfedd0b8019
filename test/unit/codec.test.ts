/**
 * The payload codec's refusals, without a running Vault (the stack tier covers encryption against the real
 * one): a payload the codec did not encrypt is refused before any key is asked for, a worker turns every
 * refused payload into a marker without its content, and the refusal stays readable to the client that sent
 * it while every other failure message is encoded.
 */
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import nodeVault from 'node-vault';
import { describe, expect, it } from 'vitest';
import {
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  keyIdOf,
  PayloadCodecError,
  PlaintextPayloadError,
  VaultPayloadCodec,
  WorkerPayloadCodec,
  WRAPPED_KEY_METADATA,
} from '../../lib/codec';
import { failureConverter } from '../../lib/failure-converter';
import { payloadConverter, REFUSED_ENCODING, refusedReason } from '../../lib/payload-converter';
import { Transit, VaultError } from '../../lib/vault';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const SECRET = { recipient: 'someone@example.test', note: 'AAAA-BBBB-CCCC-DDDD' };

/** A real transit client on a port where nothing listens: every Vault call is an outage. */
function unreachableVault(): Transit {
  return new Transit(
    nodeVault({ apiVersion: 'v1', endpoint: 'http://127.0.0.1:9', requestOptions: { timeout: 2000 } }),
    'transit',
  );
}

const codec = () =>
  new VaultPayloadCodec(unreachableVault(), { keyName: 'temporal-codec', rotationMs: 60_000 });

function forgedEncrypted(): Payload {
  const wrapped = 'vault:v1:Zm9yZ2Vk';
  return {
    metadata: {
      encoding: utf8(ENCRYPTED_ENCODING),
      [KEY_ID_METADATA]: utf8(keyIdOf(wrapped)),
      [WRAPPED_KEY_METADATA]: utf8(wrapped),
    },
    data: new Uint8Array(64),
  };
}

describe('VaultPayloadCodec refuses what it did not encrypt', () => {
  it.each<[string, Payload, RegExp]>([
    [
      'JSON, as the CLI and the UI send it',
      defaultPayloadConverter.toPayload(SECRET),
      /encoding is "json\/plain"/,
    ],
    ['binary/null (an argument-less value)', defaultPayloadConverter.toPayload(undefined), /"binary\/null"/],
    ['no metadata at all', { data: utf8(JSON.stringify(SECRET)) }, /encoding is an unknown one/],
    [
      'an encoding that is not a plain name (not echoed)',
      { metadata: { encoding: utf8(`json/${SECRET.note}@x y`) }, data: utf8('{}') },
      /encoding is an unknown one/,
    ],
  ])('%s', async (_name, payload, encoding) => {
    // Refused before any key is asked for: the Vault behind this codec is unreachable.
    const err = await codec()
      .decode([payload])
      .then(
        () => expect.fail('a payload the codec did not encrypt was decoded'),
        (e: unknown) => e as Error,
      );
    expect(err).toBeInstanceOf(PlaintextPayloadError);
    expect(err).toBeInstanceOf(PayloadCodecError);
    expect(err.message).toMatch(/^payload refused: not encrypted by the project's payload codec/);
    expect(err.message).toMatch(encoding);
    expect(err.message).not.toContain(SECRET.recipient);
    expect(err.message).not.toContain(SECRET.note);
  });

  it('refuses an "encrypted" payload without its key, and names no attacker-chosen key id', async () => {
    const payload = forgedEncrypted();
    delete payload.metadata![WRAPPED_KEY_METADATA];
    await expect(codec().decode([payload])).rejects.toThrow(/without its key metadata/);
    const mislabelled = forgedEncrypted();
    mislabelled.metadata![KEY_ID_METADATA] = utf8(SECRET.note);
    const err = await codec()
      .decode([mislabelled])
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(PayloadCodecError);
    expect((err as Error).message).not.toContain(SECRET.note);
  });
});

describe("a worker's codec", () => {
  it('leaves a marker with the reason and none of the content where the codec refused a payload', async () => {
    const [marker] = await new WorkerPayloadCodec(codec()).decode([
      defaultPayloadConverter.toPayload(SECRET),
    ]);
    expect(text(marker!.metadata!.encoding)).toBe(REFUSED_ENCODING);
    expect(marker!.data).toHaveLength(0);
    const raw = JSON.stringify(Object.entries(marker!.metadata!).map(([k, v]) => [k, text(v)]));
    expect(raw).not.toContain(SECRET.recipient);
    expect(raw).not.toContain(SECRET.note);

    // The marker converts to a refused value with the codec's reason; workflow and activity guards refuse it.
    const value = payloadConverter.fromPayload(marker!);
    expect(refusedReason(value)).toMatch(/^payload refused: not encrypted by the project's payload codec/);
    expect(Object.isFrozen(value)).toBe(true);
  });

  it('still fails on an outage, so Temporal retries the task once Vault answers again', async () => {
    const err = await new WorkerPayloadCodec(codec()).decode([forgedEncrypted()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultError);
    expect(err).not.toBeInstanceOf(PayloadCodecError);
  });
});

describe('the payload converter', () => {
  it('cannot be made to produce a refused value from JSON', () => {
    const lookalike = payloadConverter.toPayload({ reason: 'x', refused: true });
    expect(text(lookalike!.metadata!.encoding)).toBe('json/plain');
    expect(refusedReason(payloadConverter.fromPayload(lookalike!))).toBeUndefined();
    expect(refusedReason(undefined)).toBeUndefined();
    expect(refusedReason(null)).toBeUndefined();
  });
});

describe('the failure converter', () => {
  it('encodes every failure message except a refusal, which the sender without the codec must read', () => {
    const refusal = ApplicationFailure.create({
      message: "workflow input refused: payload refused: not encrypted by the project's payload codec",
      type: 'PayloadRefused',
      nonRetryable: true,
    });
    const readable = failureConverter.errorToFailure(refusal, payloadConverter);
    expect(readable.message).toBe(refusal.message);
    expect(readable.encodedAttributes).toBeFalsy();
    expect(readable.stackTrace).toBe('');
    expect(readable.applicationFailureInfo?.type).toBe('PayloadRefused');

    const other = failureConverter.errorToFailure(
      ApplicationFailure.create({
        message: `provider said ${SECRET.note}`,
        type: 'ProviderContractViolation',
      }),
      payloadConverter,
    );
    expect(other.message).toBe('Encoded failure');
    expect(other.encodedAttributes).toBeTruthy();
    // The same type with a cause is not a plain refusal: encoded too.
    const wrapped = ApplicationFailure.create({
      message: `refused ${SECRET.note}`,
      type: 'PayloadRefused',
      cause: new Error(SECRET.note),
    });
    expect(failureConverter.errorToFailure(wrapped, payloadConverter).message).toBe('Encoded failure');
  });
});
