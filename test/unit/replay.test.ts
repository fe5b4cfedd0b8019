/**
 * Every recorded history (test/replay/histories/, recorded from the real stack by `npm run histories:record`)
 * replays against today's workflow code: a change to the story that an open order could not survive at its
 * next task fails here, naming the history and the first event that diverged. Folders recorded by earlier
 * code stay, so the story must keep replaying every order any release left open.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type ReplayResult, Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { failureConverterPath, payloadConverterPath } from '../../lib/codec';
import { historiesDir, type RecordedHistory, recordedHistories } from '../replay/histories';

const histories = recordedHistories();
const replayOptions = () => ({
  workflowBundle: { codePath: inject('workflowBundlePath') },
  dataConverter: { payloadConverterPath, failureConverterPath },
});

async function replay(recorded: RecordedHistory[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(replayOptions(), recorded)) results.push(result);
  return results;
}

describe('recorded histories', () => {
  it('cover every branch the recorder knows, in at least one folder', () => {
    const branches = new Set(histories.map((h) => h.name.split('/')[1]));
    for (const branch of [
      'instant-revealed',
      'partial-then-full-batches',
      'recipient-correction',
      'retrieved-before-recorded',
      'continued-run',
      'retention-sweep',
    ])
      expect(branches).toContain(branch);
    expect(histories.length).toBeGreaterThanOrEqual(30);
  });

  it('replay against the current workflow code without a non-determinism error', async () => {
    const results = await replay(histories);
    // Replayed one by one, in order: result i is history i's.
    const failed = results
      .map((r, i) => (r.error ? `${histories[i]?.name}: ${r.error.message}` : null))
      .filter((f) => f !== null);
    expect(failed, failed.join('\n')).toEqual([]);
    expect(results).toHaveLength(histories.length);
  }, 120_000);

  it('fail, naming the history and the diverging event, when the story differs from what was recorded', async () => {
    // The recorded instant order, with its first activity renamed: the code schedules `collect` where the
    // history says another step was scheduled, which is what reordering the story would look like.
    const original = histories.find((h) => h.name.endsWith('/instant-revealed')) as RecordedHistory;
    const tampered = structuredClone(original);
    const scheduled = tampered.history.events?.find((e) => e.activityTaskScheduledEventAttributes);
    (scheduled?.activityTaskScheduledEventAttributes?.activityType as { name: string }).name = 'deliver';
    const [result] = await replay([tampered]);
    expect(result?.error?.name).toBe('DeterminismViolationError');
    expect(result?.error?.message).toMatch(/collect/);
    expect(result?.error?.message).toMatch(/deliver/);
  }, 60_000);

  it('hold no secret: every payload decoded, no address but the test ones, no link token', () => {
    for (const h of histories) {
      const [folder, branch] = h.name.split('/') as [string, string];
      const text = readFileSync(path.join(historiesDir, folder, `${branch}.json`), 'utf8');
      const json = JSON.parse(text) as { events: unknown[] };
      const payloads = payloadsIn(json);
      const contents = payloads.map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8')).join('\n');
      const encodings = new Set(
        payloads.map((p) => Buffer.from(p.metadata.encoding ?? '', 'base64').toString()),
      );
      expect(
        [...encodings].filter((e) => e === 'binary/encrypted'),
        h.name,
      ).toEqual([]);
      const addresses = new Set(contents.match(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g) ?? []);
      for (const a of addresses)
        expect(['customer@example.test', 'corrected@example.test'], h.name).toContain(a);
      expect(contents, h.name).not.toMatch(/\/d\/[A-Za-z0-9_-]{43}/);
    }
  });
});

interface PayloadJson {
  metadata: { encoding?: string };
  data?: string;
}

function payloadsIn(value: unknown): PayloadJson[] {
  if (Array.isArray(value)) return value.flatMap(payloadsIn);
  if (value === null || typeof value !== 'object') return [];
  const obj = value as Record<string, unknown>;
  if (typeof obj.metadata === 'object' && obj.metadata && 'encoding' in obj.metadata) return [obj as never];
  return Object.values(obj).flatMap(payloadsIn);
}
