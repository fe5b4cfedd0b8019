/**
 * What operators filter by in the Temporal UI (DESIGN 3.6: phases and counts, no PII), upserted only when
 * it differs from what the server has (set at start by startOrder, or by the last upsert), so polls add no
 * history.
 */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import * as wf from '@temporalio/workflow';
import { CardCountKey, OrderOutcomeKey, type OrderState, OrderStatusKey } from '../contracts/order';

export function publishStatus(state: OrderState): void {
  const pairs: SearchAttributeUpdatePair[] = [
    { key: OrderStatusKey, value: state.phase },
    { key: CardCountKey, value: state.stored },
  ];
  if (state.outcome) pairs.push({ key: OrderOutcomeKey, value: state.outcome });
  const current = wf.workflowInfo().typedSearchAttributes;
  if (pairs.every((p) => current.get(p.key as typeof OrderStatusKey) === p.value)) return;
  wf.upsertSearchAttributes(pairs);
}
