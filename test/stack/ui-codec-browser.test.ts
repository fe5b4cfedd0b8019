/**
 * DESIGN 3.6 in a real browser (the system's headless Chromium, never a downloaded one): an operator opens
 * an order in the Temporal UI and sees ciphertext; after signing in at the codec endpoint, the same page
 * shows the decoded input. The UI calls the codec endpoint its server settings name (`--ui-codec-endpoint`
 * in scripts/stack.sh: the API's port), so that port must serve this code: the stack's API process when it
 * runs (CI: `stack.sh up` before `npm test`), otherwise the test's own pipeline API, started on that port.
 * A second run points the browser's own endpoint setting at the test's pipeline API, so the UI exercises
 * this checkout's endpoint even when the stack's API runs another checkout's code.
 */
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { workflowIdFor } from '../../contracts/order';
import { config, repoRoot } from '../../lib/config';
import { launchChromium } from '../helpers/browser';
import { settled, waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';

const SHOTS = path.join(repoRoot, '.data', 'test');

let p: Pipeline;
let browser: Browser;
/** The codec endpoint as the UI knows it, e.g. http://127.0.0.1:3000/codec. */
let endpoint: string;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 2000 });
    socket.once('connect', () => resolve(socket.end() && true));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => resolve(socket.destroy() && false));
  });
}

async function assertServesCodec(): Promise<void> {
  const res = await fetch(`${endpoint}/login`).catch(() => undefined);
  if (res?.status !== 200) {
    throw new Error(
      `${endpoint} does not serve the codec endpoint (HTTP ${res?.status ?? 'unreachable'}): restart the API ` +
        '(bash scripts/stack.sh up) so that it runs the current code',
    );
  }
}

beforeAll(async () => {
  const cfg = config();
  const settings = (await (await fetch(`${cfg.TEMPORAL_UI_URL}/api/v1/settings`)).json()) as {
    Codec: { Endpoint: string };
  };
  endpoint = settings.Codec.Endpoint.replace(/\/$/, '');
  expect(endpoint).toBe(`http://127.0.0.1:${cfg.API_PORT}/codec`);

  if (await portOpen(cfg.API_PORT)) {
    p = await startPipeline();
  } else {
    try {
      p = await startPipeline({ apiPort: cfg.API_PORT });
    } catch (err) {
      // Someone took the port between the check and the listen: use whoever it is, if it is the codec.
      if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
      p = await startPipeline();
    }
  }
  await assertServesCodec();

  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await p?.stop();
});

/** What the operator sees (rendered text, not hidden DOM nodes). */
function visibleText(page: Page): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point, hidden nodes are not
  return page.evaluate(() => document.body.innerText);
}

/** Loads the workflow page, checks the UI's call to the codec endpoint, and waits for `shows` on screen. */
async function openWorkflow(
  page: Page,
  url: string,
  codecStatus: number,
  shows: string,
  endpoint: string,
): Promise<string> {
  const decoded = page.waitForResponse((r) => r.url().startsWith(`${endpoint}/decode`), { timeout: 30_000 });
  await page.goto(url);
  expect((await decoded).status()).toBe(codecStatus);
  await page.waitForFunction(
    // biome-ignore lint/performance/useDomNodeTextContent: as above
    (text) => document.body.innerText.includes(text),
    shows,
    { timeout: 30_000 },
  );
  return visibleText(page);
}

/** The whole operator story against one codec endpoint; `shots`: the screenshots' name prefix. */
async function operatorStory(endpoint: string, shots: string): Promise<void> {
  const orderId = uniqueOrderId('instant');
  const email = uniqueRecipient();
  await p.start({ orderId, userId: 'ui-operator-test', email });
  await waitForStatus(p.client, orderId, settled);
  const workflowId = workflowIdFor(orderId);
  const uiPage = `${config().TEMPORAL_UI_URL}/namespaces/${config().TEMPORAL_NAMESPACE}/workflows/${workflowId}`;

  // What the server holds as the input: the ciphertext the UI shows when it cannot decode.
  const history = await p.client.workflowService.getWorkflowExecutionHistory({
    namespace: config().TEMPORAL_NAMESPACE,
    execution: { workflowId },
  });
  const rawInput = history.history!.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  const cipherPrefix = Buffer.from(rawInput.data!).toString('base64').slice(0, 32);

  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  // The browser is fully set up for decoding (the UI's "Codec Server" settings, kept in localStorage:
  // browser endpoint, override the cluster setting, include cross-origin credentials); only the login is
  // missing, so the login is what makes the difference.
  await page.goto(`${config().TEMPORAL_UI_URL}/namespaces/${config().TEMPORAL_NAMESPACE}/workflows`);
  await page.evaluate((ep) => {
    localStorage.setItem('endpoint', JSON.stringify(ep));
    localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
    localStorage.setItem('includeCredentials', 'true');
    localStorage.setItem('passAccessToken', 'false');
  }, endpoint);

  const before = await openWorkflow(page, uiPage, 401, cipherPrefix, endpoint);
  await page.screenshot({ path: path.join(SHOTS, `${shots}-1-before-login.png`), fullPage: true });
  expect(before).toContain(workflowId);
  expect(before).toContain('Codec Server could not connect');
  expect(before).not.toContain(email);
  expect(before).not.toContain('"recipient"');
  expect(before).not.toMatch(new RegExp(`"orderId":\\s*"${orderId}"`));

  // The operator signs in at the codec endpoint, in the same browser.
  await page.goto(`${endpoint}/login`);
  await page.fill('#password', config().OPERATOR_PASSWORD!);
  await page.click('#sign-in');
  await page.locator('#signed-in').waitFor();
  // (Cookies are not port-scoped: the UI's own _csrf cookie for 127.0.0.1 is listed too.)
  const session = (await context.cookies(endpoint)).find((c) => c.name === 'giftcards_codec_session');
  expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/codec' });

  const shown = await openWorkflow(page, uiPage, 200, email, endpoint);
  await page.screenshot({ path: path.join(SHOTS, `${shots}-2-after-login.png`), fullPage: true });
  expect(shown).toContain(email);
  expect(shown).toMatch(new RegExp(`"orderId":\\s*"${orderId}"`));
  expect(shown).not.toContain(cipherPrefix);

  // Signing out takes the decoded view away again.
  await page.goto(`${endpoint}/login`);
  await page.click('#sign-out');
  await page.locator('#signed-out').waitFor();
  const signedOut = await openWorkflow(page, uiPage, 401, cipherPrefix, endpoint);
  expect(signedOut).not.toContain(email);
  await context.close();
}

it('shows ciphertext without the operator login and the decoded input after it', async () => {
  await operatorStory(endpoint, 'ui-codec');
}, 120_000);

// The endpoint the UI's server setting names may be another checkout's API (the stack's, on API_PORT): the
// same story with the browser's own endpoint setting on this code's API (the test pipeline's).
it("the same through this checkout's codec endpoint, set in the browser", async () => {
  await operatorStory(`${p.apiUrl}/codec`, 'ui-codec-own');
}, 120_000);
