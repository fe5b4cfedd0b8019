/**
 * The remote codec's wire format: a `temporal.api.common.v1.Payloads` message in proto3's JSON mapping,
 * read in full as every Temporal client may write it (https://protobuf.dev/programming-guides/json/):
 *
 * - a field that is absent or `null` has its default value: no `payloads` is an empty list (the Go CLI
 *   sends an empty message as `{}`, e.g. for a query or signal without arguments), no `metadata` an empty
 *   map, no `data` empty bytes;
 * - unknown fields are ignored (a newer client's additions);
 * - bytes are base64, standard or URL-safe, with or without padding.
 *
 * Anything else (not an object, a list that is not one, a payload that is not an object, a map value or
 * bytes that are not base64) is malformed. The reason names the field, never the value: a body may hold a
 * decrypted payload.
 */
import type { Payload } from '@temporalio/common';

export type ParsedPayloads = { ok: true; payloads: Payload[] } | { ok: false; reason: string };

const STANDARD = /^[A-Za-z0-9+/]*$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;

/** proto3 JSON bytes: standard or URL-safe base64 (one alphabet), padded or not; undefined if malformed. */
export function bytesFromJson(value: string): Uint8Array | undefined {
  const unpadded = value.replace(/={1,2}$/, '');
  const padded = unpadded.length !== value.length;
  if (!STANDARD.test(unpadded) && !URL_SAFE.test(unpadded)) return undefined;
  // A padded string is whole quads; an unpadded one cannot end one symbol into a quad (6 bits, no byte).
  if (padded ? value.length % 4 !== 0 : unpadded.length % 4 === 1) return undefined;
  // Node's base64 decoder reads both alphabets, with or without padding.
  return new Uint8Array(Buffer.from(unpadded, 'base64'));
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function payloadFromJson(value: unknown, index: number): Payload | string {
  if (!isObject(value)) return `payloads[${index}]: not an object`;
  const metadata: Record<string, Uint8Array> = {};
  const rawMetadata = value.metadata ?? {};
  if (!isObject(rawMetadata)) return `payloads[${index}].metadata: not an object`;
  for (const [key, raw] of Object.entries(rawMetadata)) {
    const bytes = typeof raw === 'string' ? bytesFromJson(raw) : undefined;
    if (!bytes) return `payloads[${index}].metadata: a value is not base64`;
    metadata[key] = bytes;
  }
  const rawData = value.data ?? '';
  const data = typeof rawData === 'string' ? bytesFromJson(rawData) : undefined;
  if (!data) return `payloads[${index}].data: not base64`;
  return { metadata, data };
}

/** A request body (already JSON-parsed) as Payloads; a content-free reason when it is not one. */
export function payloadsFromJson(body: unknown): ParsedPayloads {
  if (!isObject(body)) return { ok: false, reason: 'the body is not a JSON object' };
  const list = body.payloads ?? [];
  if (!Array.isArray(list)) return { ok: false, reason: 'payloads: not a list' };
  const payloads: Payload[] = [];
  for (const [i, item] of list.entries()) {
    const payload = payloadFromJson(item, i);
    if (typeof payload === 'string') return { ok: false, reason: payload };
    payloads.push(payload);
  }
  return { ok: true, payloads };
}

/** Payloads as proto3 JSON, standard base64 (every field written, as the UI expects). */
export function payloadsToJson(payloads: Payload[]): {
  payloads: Array<{ metadata: Record<string, string>; data: string }>;
} {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}
