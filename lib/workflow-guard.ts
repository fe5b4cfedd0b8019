/**
 * Workflow interceptors of every worker (bundled into the workflow code, run in the sandbox): a start,
 * signal, update or query whose argument the worker's codec refused (not encrypted by the project's codec,
 * tampered, under a foreign key; see WorkerPayloadCodec in lib/codec.ts) is refused here, before any
 * workflow code sees it. None of them fails the workflow task, whose retries would replay the same payload
 * forever:
 * - a start fails the workflow at once (non-retryable, type PayloadRefused);
 * - a signal is dropped and logged by name (a signal cannot be answered; the order goes on);
 * - an update is rejected by its validator, so it is never accepted into history, and the caller gets the
 *   error; an update without a validator fails instead of running;
 * - a query fails with the error;
 * - an activity result that was refused fails that activity call.
 * Messages name what was refused and why (the codec's words), never the payload.
 */
import { ApplicationFailure, log, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { REFUSED_FAILURE_TYPE, refusedReason } from './payload-converter';

function firstRefusal(values: unknown[]): string | undefined {
  for (const value of values) {
    const reason = refusedReason(value);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

const refusal = (what: string, reason: string) =>
  ApplicationFailure.create({
    message: `${what} refused: ${reason}`,
    type: REFUSED_FAILURE_TYPE,
    nonRetryable: true,
  });

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        const reason = firstRefusal(input.args);
        if (reason !== undefined) throw refusal('workflow input', reason);
        return next(input);
      },
      async handleSignal(input, next) {
        const reason = firstRefusal(input.args);
        if (reason === undefined) return next(input);
        log.warn('signal refused: its argument was not accepted by the payload codec', {
          signal: input.signalName,
          reason,
        });
      },
      validateUpdate(input, next) {
        const reason = firstRefusal(input.args);
        if (reason !== undefined) throw refusal(`update "${input.name}"`, reason);
        next(input);
      },
      async handleUpdate(input, next) {
        const reason = firstRefusal(input.args);
        if (reason !== undefined) throw refusal(`update "${input.name}"`, reason);
        return next(input);
      },
      async handleQuery(input, next) {
        const reason = firstRefusal(input.args);
        if (reason !== undefined) throw refusal(`query "${input.queryName}"`, reason);
        return next(input);
      },
    },
  ],
  outbound: [
    {
      async scheduleActivity(input, next) {
        const result = await next(input);
        const reason = refusedReason(result);
        if (reason !== undefined) throw refusal(`result of activity ${input.activityType}`, reason);
        return result;
      },
      async scheduleLocalActivity(input, next) {
        const result = await next(input);
        const reason = refusedReason(result);
        if (reason !== undefined) throw refusal(`result of activity ${input.activityType}`, reason);
        return result;
      },
    },
  ],
});
