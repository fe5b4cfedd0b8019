/**
 * The codec endpoint as Temporal's own CLI uses it (the stack's `temporal` binary, the README's flags):
 * `workflow show` and `describe` decode; `query --type status` and `signal --name checkNow`, which have no
 * arguments, send the empty Payloads message as `{}` (proto3 JSON leaves out an empty list) to
 * `/codec/encode`; a signal with an argument is encrypted by the endpoint, and the order sees it. The
 * endpoint is the test's own pipeline API's internal listener (this code), with an operator's access token
 * from the stack's identity provider; the server is the stack's dev server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderStatusView, workflowIdFor } from '../../contracts/order';
import { config, repoRoot, temporalTlsEnabled } from '../../lib/config';
import { operatorToken } from '../helpers/operators';
import { settled, waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';

const TEMPORAL_CLI = path.join(repoRoot, '.tools', 'venv', 'bin', 'temporal');

let p: Pipeline;
let home: string;
let orderId: string;
let recipient: string;
/** A viewer's access token from the stack's identity provider (docs/operations.md: operator-token). */
let token: string;

/** The connection flags, from the configuration (TLS files when the stack's Temporal wants them). */
function connectionFlags(): string[] {
  const cfg = config();
  const flags = ['--address', cfg.TEMPORAL_ADDRESS, '--namespace', cfg.TEMPORAL_NAMESPACE];
  if (temporalTlsEnabled(cfg)) {
    flags.push('--tls');
    if (cfg.TEMPORAL_TLS_CA_FILE) flags.push('--tls-ca-path', cfg.TEMPORAL_TLS_CA_FILE);
    if (cfg.TEMPORAL_TLS_CERT_FILE) flags.push('--tls-cert-path', cfg.TEMPORAL_TLS_CERT_FILE);
    if (cfg.TEMPORAL_TLS_KEY_FILE) flags.push('--tls-key-path', cfg.TEMPORAL_TLS_KEY_FILE);
    if (cfg.TEMPORAL_TLS_SERVER_NAME) flags.push('--tls-server-name', cfg.TEMPORAL_TLS_SERVER_NAME);
  }
  return flags;
}

/**
 * Runs the CLI with the README's codec flags, in a clean environment (no TEMPORAL_* variable, no profile
 * from the user's home) so only these flags count; rejects with its output when it exits non-zero.
 */
function temporal(args: string[], opts: { codec?: boolean } = {}): Promise<string> {
  const codec = opts.codec === false ? [] : ['--codec-endpoint', `${p.internalUrl}/codec`];
  const auth = opts.codec === false ? [] : ['--codec-auth', `Bearer ${token}`];
  return new Promise((resolve, reject) => {
    execFile(
      TEMPORAL_CLI,
      [...args, ...connectionFlags(), ...codec, ...auth],
      { env: { PATH: process.env.PATH, HOME: home }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`temporal ${args.slice(0, 2).join(' ')}: ${err.message}\n${stdout}${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** `workflow query --type status -o json`: the decoded answer. */
async function statusByCli(): Promise<OrderStatusView> {
  const out = JSON.parse(
    await temporal(['workflow', 'query', '-w', workflowIdFor(orderId), '--type', 'status', '-o', 'json']),
  ) as { queryResult: [OrderStatusView] };
  return out.queryResult[0];
}

type WirePayload = { metadata: Record<string, string>; data: string };
const text = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString();

/** The workflow's input as `workflow show -o json` prints it (proto3 JSON: bytes in base64). */
function startInput(json: string): WirePayload {
  const { events } = JSON.parse(json) as {
    events: Array<{ workflowExecutionStartedEventAttributes?: { input: { payloads: WirePayload[] } } }>;
  };
  return events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!;
}

beforeAll(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'codec-cli-'));
  p = await startPipeline();
  token = await operatorToken('vera');
  orderId = uniqueOrderId('instant');
  recipient = uniqueRecipient();
  await p.start({ orderId, userId: 'user-1', email: recipient });
  // Delivered, so it has a purge date for extendRetention to move; the workflow stays open until then.
  await waitForStatus(p.client, orderId, settled);
});

afterAll(async () => {
  await p?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('the temporal CLI through the codec endpoint', () => {
  it('workflow show decodes the history (without the endpoint it is ciphertext)', async () => {
    const show = (flags?: { codec: false }) =>
      temporal(['workflow', 'show', '-w', workflowIdFor(orderId), '-o', 'json'], flags).then(startInput);
    const decoded = await show();
    expect(text(decoded.metadata.encoding)).toBe('json/plain');
    expect(JSON.parse(text(decoded.data))).toMatchObject({ orderId, recipient });
    const raw = await show({ codec: false });
    expect(text(raw.metadata.encoding)).toBe('binary/encrypted');
    expect(Buffer.from(raw.data, 'base64').toString('latin1')).not.toContain(recipient);
  });

  it('workflow describe works', async () => {
    const described = JSON.parse(
      await temporal(['workflow', 'describe', '-w', workflowIdFor(orderId), '-o', 'json']),
    ) as { workflowExecutionInfo: { execution: { workflowId: string }; status: string } };
    expect(described.workflowExecutionInfo.execution.workflowId).toBe(workflowIdFor(orderId));
    expect(described.workflowExecutionInfo.status).toBe('WORKFLOW_EXECUTION_STATUS_RUNNING');
  });

  it('workflow query --type status (no arguments: `{}` to /codec/encode) answers the decoded status', async () => {
    const status = await statusByCli();
    expect(status).toMatchObject({ orderId, phase: 'delivered', outcome: 'DELIVERED', storedCards: 3 });
    expect(status.purgeAt).not.toBeNull();
  });

  it('workflow signal --name checkNow (no arguments) is accepted and the order carries on', async () => {
    const out = await temporal(['workflow', 'signal', '-w', workflowIdFor(orderId), '--name', 'checkNow']);
    expect(out).toMatch(/signal/i);
    expect((await statusByCli()).phase).toBe('delivered');
  });

  it('workflow signal with an argument: extendRetention --input {"by":"1h"} moves the purge date by an hour', async () => {
    const before = await statusByCli();
    await temporal([
      'workflow',
      'signal',
      '-w',
      workflowIdFor(orderId),
      '--name',
      'extendRetention',
      '--input',
      '{"by":"1h"}',
    ]);
    const hour = 60 * 60 * 1000;
    const deadline = Date.now() + 20_000;
    let after = await statusByCli();
    while (Date.parse(after.purgeAt!) === Date.parse(before.purgeAt!) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      after = await statusByCli();
    }
    expect(Date.parse(after.purgeAt!) - Date.parse(before.purgeAt!)).toBe(hour);
  });
});
