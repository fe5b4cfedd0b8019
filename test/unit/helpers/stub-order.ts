/**
 * The order workflow on Temporal's time-skipping test server with stubbed activities: each order id gets
 * a script of provider answers, and every activity call is recorded, so a test reads as "the provider said
 * this, the order did that". Nothing outside the test process is involved.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import {
  type CollectInput,
  type CollectResult,
  completingDeliverInput,
  type DeliverInput,
  type DeliverResult,
  ORDER_OWNERSHIP_REFUSED,
  ORDER_WORKFLOW_TYPE,
  type OrderActivities,
  type OrderInput,
  type OrderPolicy,
  type OrderState,
  type OrderWorkflow,
  ProviderFailureType,
  type ProviderStatus,
  RECIPIENT_REFUSED,
  type WebhookEvent,
  workflowIdFor,
} from '../../../contracts/order';
import { createOrderWorkers } from '../../../workers/create';
import { createTimeSkippingEnv } from '../../helpers/time-skipping';

/** One provider answer: a status with how many cards are stored so far, or a failure the activity raises. */
export type Answer =
  | { status: ProviderStatus; stored: number; quantity?: number }
  | { fail: keyof typeof ProviderFailureType; message?: string }
  /** The activity's ownership check refuses the workflow (DESIGN 3.10). */
  | { refused: true };

export interface Call {
  name: keyof OrderActivities;
  input: Record<string, unknown>;
  /** When the workflow asked for it (epoch ms, real time). */
  at: number;
}

interface Script {
  answers: Answer[];
  calls: Call[];
  /** Cards the provider has issued so far (what the real activity would have stored). */
  stored: number;
  delivered: number;
  /** Cards a link has revealed (what the real deliver reads from used tokens); a correction leaves them out. */
  revealed: number;
  /** Holds every link (the deliver step's, or the poll's) until released, to act while one is in flight. */
  deliverGate?: Promise<void>;
  /** The poll that finds the order complete sends its link, as the real collect does. */
  linkWithPoll: boolean;
  /** When each step ended, by index into calls (to tell what the workflow waited for). */
  ended: Map<number, number>;
  /** How the caller's endpoint answers: acknowledges, 410, or fails every time. */
  endpoint: 'ok' | 'gone' | 'failing';
  /** Events the endpoint acknowledged (or took with its 410), in the order they arrived. */
  received: WebhookEvent[];
}

/** The defaults of lib/config, as an order gets them when nobody overrides anything. */
export const DEFAULT_POLICY: OrderPolicy = {
  deliverPartial: false,
  purgeOnRetrieval: false,
  linkTtl: '24h',
  retention: '30d',
  deadline: '24h',
  pollInitialInterval: '5s',
  pollMaxInterval: '5m',
  webhookMaxAge: '24h',
};

export async function startStubbedOrders() {
  const env: TestWorkflowEnvironment = await createTimeSkippingEnv();
  const scripts = new Map<string, Script>();
  const record = (name: keyof OrderActivities, input: { orderId: string }) => {
    const script = scripts.get(input.orderId);
    if (!script) throw new Error(`no script for ${input.orderId}`);
    script.calls.push({ name, input: { ...input }, at: Date.now() });
    return script;
  };

  /** The link email: held by the gate, refused for good for a "refused…" address; the cards it covered. */
  async function sendLink(script: Script, input: DeliverInput): Promise<DeliverResult> {
    if (script.deliverGate) {
      // Held until released, or until the workflow gives up on it (learnt through a heartbeat): a step
      // left running would keep the test server from skipping time for every later test.
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), 100);
      try {
        await Promise.race([script.deliverGate, context.cancelled]);
      } finally {
        clearInterval(beat);
      }
    }
    if (input.recipient.startsWith('refused')) {
      throw ApplicationFailure.nonRetryable(
        'the mail server refused the message permanently (SMTP 550)',
        RECIPIENT_REFUSED,
      );
    }
    const resent = input.unrevealedOnly ? script.stored - script.revealed : script.stored;
    const cardCount = input.kind === 'resend' ? resent : script.stored - script.delivered;
    if (input.kind === 'batch') script.delivered += cardCount;
    const result = { deliveryId: input.deliveryId, cardCount, expiresAt: Date.now() + input.linkTtlMs };
    return input.finish?.expectCards === cardCount ? { ...result, finished: true } : result;
  }

  /** As the real collect: the link of a complete order goes with the poll; a refusal is returned. */
  async function linkWithPoll(script: Script, input: CollectInput, result: CollectResult) {
    const link = input.deliverWhenComplete;
    const complete = result.status === 'FULFILLED' && result.stored >= result.quantity;
    if (!script.linkWithPoll || !link || !complete || result.stored <= link.deliveredCards) return result;
    try {
      const delivery = await sendLink(script, completingDeliverInput(input, link, result.stored));
      return { ...result, delivery };
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === RECIPIENT_REFUSED)
        return { ...result, delivery: { refused: err.message } };
      throw err;
    }
  }

  /** Records when a step ended (returned or threw). */
  const timed =
    <I extends { orderId: string }, O>(fn: (input: I) => Promise<O>) =>
    async (input: I): Promise<O> => {
      try {
        return await fn(input);
      } finally {
        const script = scripts.get(input.orderId);
        script?.ended.set(script.calls.length - 1, Date.now());
      }
    };

  const activities: OrderActivities = {
    async registerOrder(input) {
      record('registerOrder', input);
    },
    collect: timed(async (input: CollectInput) => {
      const script = record('collect', input);

      const answer = script.answers.length > 1 ? script.answers.shift()! : script.answers[0];
      if (!answer) throw new Error('script has no answer');
      if ('refused' in answer)
        throw ApplicationFailure.nonRetryable('not the registered workflow', ORDER_OWNERSHIP_REFUSED);
      if ('fail' in answer) {
        throw ApplicationFailure.nonRetryable(answer.message ?? 'refused', ProviderFailureType[answer.fail]);
      }
      script.stored = Math.max(script.stored, answer.stored);
      const quantity = answer.quantity ?? 3;
      const result: CollectResult = {
        status: answer.status,
        quantity,
        stored: answer.stored,
        newlyStored: answer.stored - input.knownStored,
      };
      const final = ['FULFILLED', 'FAILED', 'CANCELLED'].includes(answer.status);
      if (result.newlyStored <= 0 && !final) {
        // As the real activity: nothing new, so Temporal's retry backoff does the waiting.
        throw ApplicationFailure.create({
          type: ProviderFailureType.notReady,
          message: 'waiting for the provider',
          nextRetryDelay: Math.min(
            input.pollMaxMs,
            input.pollInitialMs * 2 ** (Context.current().info.attempt - 1),
          ),
        });
      }
      return linkWithPoll(script, input, result);
    }),
    async deliver(input: DeliverInput) {
      return sendLink(record('deliver', input), input);
    },
    async notifyCustomer(input) {
      record('notifyCustomer', input);
    },
    async finishOrder(input) {
      record('finishOrder', input);
    },
    async expireDelivery(input) {
      record('expireDelivery', input);
      return 1;
    },
    async revokeLinks(input) {
      record('revokeLinks', input);
      return 1;
    },
    async recordRetention(input) {
      record('recordRetention', input);
    },
    async purgeOrder(input) {
      record('purgeOrder', input);
      return { cardsDeleted: 3, tokensDeleted: 1, alreadyPurged: false };
    },
    async sendWebhook(input) {
      const script = record('sendWebhook', { orderId: input.event.orderId, ...input });
      if (script.endpoint === 'failing') throw ApplicationFailure.retryable('HTTP 503', 'WebhookRefused');
      script.received.push(input.event);
      return script.endpoint === 'gone' ? 'gone' : 'delivered';
    },
    async webhookUndeliverable(input) {
      record('webhookUndeliverable', { orderId: input.event.orderId, ...input });
    },
  };

  const taskQueue = `stubbed-${randomUUID()}`;
  const worker = await createOrderWorkers(
    {
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      providerMaxRps: 1_000,
      workflowBundle: { codePath: inject('workflowBundlePath') },
    },
    activities,
  );
  const running = worker.run();

  return {
    env,
    /** Starts an order whose provider gives these answers in turn (the last one again and again). */
    async start(
      answers: Answer[],
      opts: {
        policy?: Partial<OrderPolicy>;
        carried?: OrderState;
        holdDelivery?: boolean;
        /** An intake caller (events are sent) and how its endpoint answers. */
        caller?: { endpoint: Script['endpoint'] };
        /** The order's email; one starting with "refused" is refused for good by the mail server. */
        recipient?: string;
        /**
         * The poll that finds the order complete sends its link, as the real collect does. Without it,
         * that attempt is taken to have failed (an SMTP outage), and the deliver step sends the link.
         */
        linkWithPoll?: boolean;
      } = {},
    ) {
      const orderId = `stub-${randomUUID().slice(0, 12)}`;
      let release = () => {};
      const script: Script = {
        answers: [...answers],
        calls: [],
        stored: 0,
        delivered: 0,
        revealed: 0,
        endpoint: opts.caller?.endpoint ?? 'ok',
        received: [],
        linkWithPoll: opts.linkWithPoll ?? false,
        ended: new Map(),
      };
      if (opts.holdDelivery) script.deliverGate = new Promise<void>((r) => (release = r));
      if (opts.carried)
        Object.assign(script, { stored: opts.carried.stored, delivered: opts.carried.delivered });
      scripts.set(orderId, script);
      const input: OrderInput = {
        orderId,
        userId: 'user-1',
        recipient: opts.recipient ?? 'customer@example.test',
        policy: { ...DEFAULT_POLICY, ...opts.policy },
        ...(opts.caller ? { caller: 'checkout' } : {}),
      };
      const handle = await env.client.workflow.start<OrderWorkflow>(ORDER_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: workflowIdFor(orderId),
        args: opts.carried ? [input, opts.carried] : [input],
      });
      return {
        orderId,
        handle,
        release: () => release(),
        /** Holds the next links again, until release(). */
        hold: () => {
          script.deliverGate = new Promise<void>((r) => (release = r));
        },
        /** A link revealed this many of the order's cards (as the real deliver would find in the database). */
        reveal: (cards: number) => {
          script.revealed = cards;
        },
        calls: script.calls,
        received: script.received,
        /** The calls of one activity, in order. */
        callsOf: (name: keyof OrderActivities) => script.calls.filter((c) => c.name === name),
        /** When the collect step of calls[i] ended (returned or threw; epoch ms, real time). */
        endedAt: (i: number) => script.ended.get(i),
        names: () => script.calls.map((c) => c.name),
      };
    },
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
