/**
 * The order's events for its caller (DESIGN 7), beside the story and never holding it up: `emit` queues an
 * event in the carried WebhookState, and `send` delivers them one at a time, in sequence, each retried with
 * backoff until the caller's endpoint acknowledges it (2xx), says it wants no more (410), or the event is
 * older than the policy's webhookMaxAge (then it is marked undeliverable and the next one goes). An event of
 * a type the caller does not receive is skipped by the activity (`not-subscribed`) and stops nothing.
 */
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import * as wf from '@temporalio/workflow';
import type {
  OrderActivities,
  OrderInput,
  WebhookEvent,
  WebhookEventData,
  WebhookEventType,
  WebhookState,
} from '../contracts/order';
import { failureOf, isOwnershipRefusal } from './failures';
import { emitEvent } from './order-state';
import { RETRY, steps } from './steps';

export class WebhookOutbox {
  constructor(
    private readonly hooks: WebhookState,
    private readonly input: OrderInput,
    private readonly firstRunId: string,
  ) {}

  /** Queues an event (none when the order has no caller, or its endpoint stopped taking events). */
  emit(type: WebhookEventType, data: WebhookEventData): void {
    const event = { id: `evt_${wf.uuid4()}`, orderId: this.input.orderId, type, data, now: Date.now() };
    emitEvent(this.hooks, event, this.input.caller);
  }

  get empty(): boolean {
    return this.hooks.outbox.length === 0;
  }

  /** Sends for as long as the workflow runs; `ready`: the order's row exists (events are recorded against it). */
  async send(ready: () => boolean): Promise<never> {
    const { hooks } = this;
    const caller = this.input.caller as string;
    const maxAgeMs = msToNumber(this.input.policy.webhookMaxAge as Duration);
    for (;;) {
      await wf.condition(() => hooks.outbox.length > 0 && ready());
      const event = hooks.outbox[0] as WebhookEvent;
      const { sendWebhook } = wf.proxyActivities<OrderActivities>({
        startToCloseTimeout: '15 seconds',
        // At least one real try, even for an event that waited behind others past its age.
        scheduleToCloseTimeout: Math.max(2_000, Date.parse(event.occurredAt) + maxAgeMs - Date.now()),
        retry: RETRY,
      });
      const step = { caller, event, firstRunId: this.firstRunId };
      try {
        const outcome = await sendWebhook(step);
        if (outcome === 'delivered') hooks.delivered++;
        else if (outcome !== 'not-subscribed') hooks.stopped = outcome;
      } catch (err) {
        const failure = failureOf(err);
        if (!failure.ofActivity || isOwnershipRefusal(failure)) throw err;
        hooks.undeliverable.push(event.id);
        await steps.webhookUndeliverable(step);
      }
      if (hooks.stopped) hooks.outbox.splice(0);
      else hooks.outbox.shift();
    }
  }
}
