/** The order's bookkeeping rules, on their own: outcomes, purge time, retrieval, the status view. */
import { describe, expect, it } from 'vitest';
import type { OrderState } from '../../contracts/order';
import * as rules from '../../workflows/order-state';
import { DEFAULT_POLICY } from './helpers/stub-order';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

function delivered(cards: number[], quantity = 3): OrderState {
  const s = rules.newState(DEFAULT_POLICY, T0);
  s.quantity = quantity;
  s.stored = cards.reduce((a, b) => a + b, 0);
  for (const cardCount of cards) {
    const id = rules.nextDeliveryId(s, 'o');
    rules.recordDelivery(s, 'batch', { deliveryId: id, cardCount, expiresAt: T0 + DAY }, T0);
  }
  return s;
}

describe('order state', () => {
  it('a new order waits 24 h for the provider and has no purge time yet', () => {
    const s = rules.newState(DEFAULT_POLICY, T0);
    expect(s.deadlineAt - T0).toBe(DAY);
    expect(rules.view('o', s)).toMatchObject({ phase: 'collecting', purgeAt: null, deliveries: [] });
  });

  it('the outcome follows what was delivered, not what was asked for', () => {
    expect(rules.outcomeOf(delivered([3]), 'FAILED')).toBe('DELIVERED');
    expect(rules.outcomeOf(delivered([1, 1]), 'FAILED')).toBe('PARTIALLY_DELIVERED');
    expect(rules.outcomeOf(delivered([]), 'CANCELLED')).toBe('CANCELLED');
  });

  it('a delivery without cards is not recorded and sets no delivery time', () => {
    const s = rules.newState(DEFAULT_POLICY, T0);
    expect(
      rules.recordDelivery(s, 'batch', { deliveryId: 'o#1', cardCount: 0, expiresAt: T0 }, T0),
    ).toBeNull();
    expect(s.deliveredAt).toBeNull();
  });

  it('purge time: retention after the first delivery, extended by each extension, at once with no cards', () => {
    const s = delivered([2, 1]);
    rules.extendRetention(s, DAY); // before aftercare: counts into the retention
    expect(rules.settlePurgeTime(s, DEFAULT_POLICY, T0 + 5 * DAY)).toBe(T0 + 31 * DAY);
    rules.extendRetention(s, 2 * DAY);
    expect(s.purgeAt).toBe(T0 + 33 * DAY);
    const empty = rules.newState(DEFAULT_POLICY, T0);
    expect(rules.settlePurgeTime(empty, DEFAULT_POLICY, T0 + DAY)).toBe(T0 + DAY);
  });

  it('every standing link must be retrieved; superseded ones do not count', () => {
    const s = delivered([1, 2]);
    expect(rules.allRetrieved(s)).toBe(false);
    rules.markRetrieved(s, 'o#1');
    expect(rules.allRetrieved(s)).toBe(false);
    rules.supersedeDeliveries(s);
    rules.recordDelivery(s, 'resend', { deliveryId: 'o#3', cardCount: 3, expiresAt: T0 + DAY }, T0);
    rules.markRetrieved(s, 'o#3');
    expect(rules.allRetrieved(s)).toBe(true);
    expect(s.delivered).toBe(3); // a resend delivers no new card
    expect(rules.standingDeliveries(s).map((d) => d.id)).toEqual(['o#3']);
  });

  it('positiveDuration refuses anything that is not a positive Temporal duration', () => {
    expect(rules.positiveDuration('10d')).toBe(10 * DAY);
    for (const bad of ['forever', '-5d', '0s', 42, null, '']) expect(rules.positiveDuration(bad)).toBeNull();
  });
});
