/** Controls the provider sandbox of the running stack (scenario registration, what it issued). */
import { config, requireSetting } from '../../lib/config';

export interface SandboxOrder {
  orderId: string;
  scenario: string;
  polls: number;
  /** When the latest polls came (epoch ms). */
  polledAt: number[];
  cards: Array<{ value: string; serial: string }>;
  /** The cards sent in an answer so far. */
  issued: Array<{ value: string; serial: string }>;
}

async function call(method: string, path: string, body?: unknown) {
  const cfg = config();
  const res = await fetch(`${requireSetting(cfg, 'PROVIDER_BASE_URL', 'the sandbox helper')}${path}`, {
    method,
    headers: {
      'x-api-key': requireSetting(cfg, 'PROVIDER_API_KEY', 'the sandbox helper'),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`sandbox ${method} ${path}: HTTP ${res.status}`);
  return res.json();
}

export function registerScenario(orderId: string, scenario: string, options: Record<string, unknown> = {}) {
  return call('POST', '/sandbox/orders', { orderId, scenario, ...options });
}

export async function sandboxOrder(orderId: string): Promise<SandboxOrder> {
  return (await call('GET', `/sandbox/orders/${encodeURIComponent(orderId)}`)) as SandboxOrder;
}
