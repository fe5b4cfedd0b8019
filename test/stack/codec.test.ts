/**
 * The Temporal payload codec (DESIGN 3.6) against the stack's Vault, and what it leaves in a real order's
 * history: read raw from the server, without the codec, the history holds ciphertext only, failure
 * messages included, and the search attributes operators filter by.
 */
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardCountKey, OrderOutcomeKey, OrderStatusKey, workflowIdFor } from '../../contracts/order';
import {
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  keyIdOf,
  PayloadCodecError,
  VaultPayloadCodec,
  WRAPPED_KEY_METADATA,
} from '../../lib/codec';
import { config } from '../../lib/config';
import { connectVault, type VaultSession } from '../../lib/vault';
import { settled, waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';
import { sandboxOrder } from '../helpers/sandbox';

const HOUR = 3_600_000;
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

let worker: VaultSession;
let api: VaultSession;
let p: Pipeline;

const codecOf = (session: VaultSession, rotationMs = HOUR) =>
  new VaultPayloadCodec(session.transit, { keyName: config().VAULT_CODEC_KEY, rotationMs });

beforeAll(async () => {
  worker = await connectVault('worker');
  api = await connectVault('api');
  p = await startPipeline();
});

afterAll(async () => {
  await p?.stop();
  worker?.close();
  api?.close();
});

function secretPayload(): { value: object; payload: Payload } {
  const value = { recipient: uniqueRecipient(), note: 'AAAA-BBBB-CCCC-DDDD' };
  return { value, payload: defaultPayloadConverter.toPayload(value) };
}

describe('the codec', () => {
  it('round-trips through Vault envelope encryption and shows nothing of the plaintext', async () => {
    const codec = codecOf(worker);
    const { value, payload } = secretPayload();
    const [encoded] = await codec.encode([payload]);
    expect(text(encoded!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    const wrapped = text(encoded!.metadata![WRAPPED_KEY_METADATA]);
    expect(wrapped).toMatch(/^vault:v\d+:/);
    expect(text(encoded!.metadata![KEY_ID_METADATA])).toBe(keyIdOf(wrapped));
    const raw = Buffer.from(temporal.api.common.v1.Payload.encode(encoded!).finish()).toString('latin1');
    expect(raw).not.toContain('@example.test');
    expect(raw).not.toContain('AAAA-BBBB');
    expect(raw).not.toContain('json/plain');

    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(value);
    // Same plaintext twice: a fresh IV each time, so the ciphertexts differ.
    const [again] = await codec.encode([payload]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(encoded!.data!))).toBe(false);
  });

  it('rejects tampered, truncated or mislabelled payloads with a clear error, never garbage', async () => {
    const codec = codecOf(worker);
    const [encoded] = await codec.encode([secretPayload().payload]);
    const variant = (change: (p: { metadata: Record<string, Uint8Array>; data: Uint8Array }) => void) => {
      const copy = { metadata: { ...encoded!.metadata! }, data: Uint8Array.from(encoded!.data!) };
      change(copy);
      return codec.decode([copy]);
    };
    await expect(
      variant((c) => {
        c.data[20]! ^= 0x01;
      }),
    ).rejects.toThrow(/failed authentication: tampered or corrupted/);
    await expect(
      variant((c) => {
        c.data[c.data.length - 1]! ^= 0x80; // the GCM tag
      }),
    ).rejects.toThrow(PayloadCodecError);
    await expect(
      variant((c) => {
        c.data = c.data.subarray(0, 20);
      }),
    ).rejects.toThrow(/truncated/);
    await expect(
      variant((c) => {
        c.metadata[KEY_ID_METADATA] = new TextEncoder().encode('0123456789abcdef');
      }),
    ).rejects.toThrow(/does not match/);
    await expect(
      variant((c) => {
        delete c.metadata[WRAPPED_KEY_METADATA];
      }),
    ).rejects.toThrow(/without its key metadata/);
    // Another (valid) data key with its own consistent id: Vault unwraps it, GCM refuses the data.
    const [foreign] = await codecOf(api).encode([secretPayload().payload]);
    await expect(
      variant((c) => {
        c.metadata[KEY_ID_METADATA] = foreign!.metadata![KEY_ID_METADATA]!;
        c.metadata[WRAPPED_KEY_METADATA] = foreign!.metadata![WRAPPED_KEY_METADATA]!;
      }),
    ).rejects.toThrow(/failed authentication/);
    // A wrapped key Vault never issued.
    const bogus = 'vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==';
    await expect(
      variant((c) => {
        c.metadata[WRAPPED_KEY_METADATA] = new TextEncoder().encode(bogus);
        c.metadata[KEY_ID_METADATA] = new TextEncoder().encode(keyIdOf(bogus));
      }),
    ).rejects.toThrow(/refused by Vault/);
  });

  it("decodes in another process's codec (another data key, another Vault identity)", async () => {
    const { value, payload } = secretPayload();
    const [fromWorker] = await codecOf(worker).encode([payload]);
    const apiCodec = codecOf(api);
    const [fromApi] = await apiCodec.encode([payload]);
    expect(text(fromApi!.metadata![KEY_ID_METADATA])).not.toBe(text(fromWorker!.metadata![KEY_ID_METADATA]));
    const decoded = await apiCodec.decode([fromWorker!, fromApi!]);
    expect(decoded.map((d) => defaultPayloadConverter.fromPayload(d))).toEqual([value, value]);
  });

  it('rotates its data key after the rotation period and still decodes what the old key encrypted', async () => {
    const codec = codecOf(worker, 300);
    const { value, payload } = secretPayload();
    const [first] = await codec.encode([payload]);
    const [sameKey] = await codec.encode([payload]);
    expect(text(sameKey!.metadata![KEY_ID_METADATA])).toBe(text(first!.metadata![KEY_ID_METADATA]));
    await new Promise((r) => setTimeout(r, 400));
    const [second] = await codec.encode([payload]);
    expect(text(second!.metadata![KEY_ID_METADATA])).not.toBe(text(first!.metadata![KEY_ID_METADATA]));
    for (const reader of [codec, codecOf(api)]) {
      const decoded = await reader.decode([first!, second!]);
      expect(decoded.map((d) => defaultPayloadConverter.fromPayload(d))).toEqual([value, value]);
    }
  });
});

/** Every payload in a raw history event, except search attributes (plaintext by Temporal's design). */
function payloadsIn(node: unknown, out: Payload[] = []): Payload[] {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return out;
  if (Array.isArray(node)) {
    for (const item of node) payloadsIn(item, out);
    return out;
  }
  const obj = node as Record<string, unknown>;
  if (obj.metadata && typeof obj.metadata === 'object' && 'data' in obj) out.push(obj as Payload);
  for (const [key, value] of Object.entries(obj)) if (key !== 'searchAttributes') payloadsIn(value, out);
  return out;
}

function failuresIn(node: unknown, out: temporal.api.failure.v1.IFailure[] = []) {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return out;
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'failure' || key === 'cause') && value) out.push(value as temporal.api.failure.v1.IFailure);
    failuresIn(value, out);
  }
  return out;
}

async function rawHistory(orderId: string) {
  // The server's own answer, straight off the wire: no data converter, no codec.
  const res = await p.client.workflowService.getWorkflowExecutionHistory({
    namespace: config().TEMPORAL_NAMESPACE,
    execution: { workflowId: workflowIdFor(orderId) },
  });
  const history = res.history!;
  const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
  return { events: history.events ?? [], bytes };
}

describe('a real order through the pipeline', () => {
  it('leaves only ciphertext in the raw history: no recipient, no card, no customer address', async () => {
    const orderId = uniqueOrderId('instant');
    const email = uniqueRecipient();
    await p.start({ orderId, userId: 'codec-user', email });
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status).toMatchObject({ outcome: 'DELIVERED', storedCards: 3 });
    const provider = await sandboxOrder(orderId);
    expect(provider.cards).toHaveLength(3);

    const { events, bytes } = await rawHistory(orderId);
    expect(bytes).not.toContain(email);
    expect(bytes).not.toContain('customer-');
    expect(bytes).not.toContain('@example.test');
    for (const card of provider.cards) {
      expect(bytes).not.toContain(card.value);
      expect(bytes).not.toContain(card.serial);
    }
    const payloads = payloadsIn(events);
    // At least the workflow input, and the input (with the recipient) and result of the poll that sent the link.
    expect(payloads.length).toBeGreaterThanOrEqual(3);
    for (const payload of payloads) expect(text(payload.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);

    // Through the client (with the codec) the same history reads normally.
    const started = events[0]!.workflowExecutionStartedEventAttributes!;
    const [input] = await p.client.options.loadedDataConverter.payloadCodecs[0]!.decode(
      started.input!.payloads!,
    );
    expect(defaultPayloadConverter.fromPayload(input!)).toMatchObject({ orderId, recipient: email });
  });

  it('publishes phase, outcome and card count as search attributes, and nothing personal', async () => {
    const orderId = uniqueOrderId('instant');
    const email = uniqueRecipient();
    await p.start({ orderId, userId: 'codec-user', email });
    await waitForStatus(p.client, orderId, settled);
    const handle = p.client.workflow.getHandle(workflowIdFor(orderId));
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(OrderStatusKey)).toBe('delivered');
    expect(described.typedSearchAttributes.get(OrderOutcomeKey)).toBe('DELIVERED');
    expect(described.typedSearchAttributes.get(CardCountKey)).toBe(3);
    expect(JSON.stringify(described.raw.workflowExecutionInfo?.searchAttributes)).not.toContain(
      'example.test',
    );
    // Operators find it by status (visibility is eventually consistent).
    await expect
      .poll(
        async () => {
          let n = 0;
          const query = `WorkflowId = '${workflowIdFor(orderId)}' AND OrderStatus = 'delivered' AND CardCount = 3`;
          for await (const _ of p.client.workflow.list({ query })) n++;
          return n;
        },
        { timeout: 10_000 },
      )
      .toBe(1);
  });

  it("encrypts failure messages: a not-found order's activity failure says nothing in clear", async () => {
    const orderId = uniqueOrderId('not-found');
    await p.start({ orderId, userId: 'codec-user', email: uniqueRecipient() });
    const status = await waitForStatus(p.client, orderId, settled);
    expect(status.failureReason).toContain('does not know order');

    const { events, bytes } = await rawHistory(orderId);
    expect(bytes).not.toContain('does not know order');
    expect(bytes).not.toContain('HTTP 404');
    const failures = failuresIn(events);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.message).toBe('Encoded failure');
      expect(failure.stackTrace ?? '').toBe('');
      expect(text(failure.encodedAttributes?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    }
    // The activity's failure type stays readable (no PII), so operators can still filter on it.
    const activityFailed = events.find(
      (e) => e.activityTaskFailedEventAttributes,
    )?.activityTaskFailedEventAttributes;
    expect(activityFailed?.failure?.applicationFailureInfo?.type).toBe('ProviderOrderNotFound');
  });
});
