/**
 * Recorded order histories, the fixtures of the replay tests. Each is a real history from the local stack
 * (test/replay/record.ts), its payloads decoded through the codec so it replays without Vault, and every
 * address, id and host replaced by test values, so it can be committed and read. The files are Temporal's
 * JSON form of a history (what `temporal workflow show --output json` prints), one folder per code version
 * that recorded them; every folder stays, so each release must replay every history an older one left open.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PayloadCodec } from '@temporalio/common';
import {
  type History,
  historyFromJSON,
  JSONToPayload,
  payloadToJSON,
} from '@temporalio/common/lib/proto-utils';

export const historiesDir = path.join(__dirname, 'histories');

/** What a folder's `recorded.json` says: the code that made its histories, and what each one is. */
export interface Recording {
  /** The commit whose workflow code recorded them. */
  code: string;
  recordedAt: string;
  /** Branch name → its workflow's id (a history does not carry its own) and what happens in it. */
  branches: Record<string, { workflowId: string; story: string }>;
}

export interface RecordedHistory {
  /** `<folder>/<branch>`, the name a failing replay reports. */
  name: string;
  workflowId: string;
  history: History;
}

/** Every recorded history, oldest folder first. */
export function recordedHistories(): RecordedHistory[] {
  const folders = readdirSync(historiesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return folders.flatMap((folder) => {
    const recording = JSON.parse(
      readFileSync(path.join(historiesDir, folder, 'recorded.json'), 'utf8'),
    ) as Recording;
    return Object.entries(recording.branches).map(([branch, { workflowId }]) => {
      const json = JSON.parse(readFileSync(path.join(historiesDir, folder, `${branch}.json`), 'utf8'));
      return { name: `${folder}/${branch}`, workflowId, history: historyFromJSON(json) };
    });
  });
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A history as JSON with every payload the codec encrypted decoded (inputs, results, signals, updates,
 * failures' encoded attributes), and `scrub` applied to each payload's content and to the whole text.
 */
export async function readableHistory(
  historyJson: string,
  codec: PayloadCodec,
  scrub: (text: string) => string,
): Promise<string> {
  const tree = JSON.parse(historyJson) as JsonValue;
  const decoded = await decodePayloads(tree, codec, scrub);
  return scrub(JSON.stringify(decoded, null, 1));
}

async function decodePayloads(
  value: JsonValue,
  codec: PayloadCodec,
  scrub: (text: string) => string,
): Promise<JsonValue> {
  if (Array.isArray(value)) return Promise.all(value.map((v) => decodePayloads(v, codec, scrub)));
  if (value === null || typeof value !== 'object') return value;
  if (isPayloadJson(value)) {
    const [payload] = await codec.decode([JSONToPayload(value as never)]);
    const plain = payloadToJSON(payload!);
    const content = Buffer.from(plain.data ?? '', 'base64').toString('utf8');
    return { ...plain, data: Buffer.from(scrub(content), 'utf8').toString('base64') } as JsonValue;
  }
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value)) out[k] = await decodePayloads(v, codec, scrub);
  return out;
}

const ENCRYPTED = Buffer.from('binary/encrypted').toString('base64');

function isPayloadJson(value: { [key: string]: JsonValue }): boolean {
  const metadata = value.metadata;
  return (
    typeof metadata === 'object' &&
    metadata !== null &&
    !Array.isArray(metadata) &&
    metadata.encoding === ENCRYPTED
  );
}
