/**
 * What an activity call's error says, read in one place: the SDK wraps a step's failure in an
 * ActivityFailure whose cause is what the activity raised (an ApplicationFailure with a type), a timeout,
 * or a cancellation.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, TimeoutFailure } from '@temporalio/workflow';
import { ORDER_OWNERSHIP_REFUSED } from '../contracts/order';

export interface StepFailure {
  /** The step itself failed (it ran and failed, timed out or was cancelled), not something around it. */
  ofActivity: boolean;
  /** What the activity raised, by type; null when it raised nothing (a timeout, a cancellation). */
  raised: { type: string; message: string } | null;
  timedOut: boolean;
  /** A cancellation: the step's scope (or the workflow) was cancelled. */
  cancelled: boolean;
}

export function failureOf(err: unknown): StepFailure {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return {
    ofActivity: err instanceof ActivityFailure,
    raised:
      cause instanceof ApplicationFailure ? { type: cause.type ?? 'Error', message: cause.message } : null,
    timedOut: cause instanceof TimeoutFailure,
    cancelled: isCancellation(err),
  };
}

/** An activity refused this workflow an order that is not its own (DESIGN 3.10): the workflow ends. */
export function isOwnershipRefusal(failure: StepFailure): boolean {
  return failure.raised?.type === ORDER_OWNERSHIP_REFUSED;
}
