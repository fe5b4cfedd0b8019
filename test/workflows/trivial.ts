/** Trivial workflows that prove the Temporal plumbing (real dev server and time-skipping server) works. */
import { condition, defineSignal, proxyActivities, setHandler, sleep } from '@temporalio/workflow';

export interface TrivialActivities {
  hello(name: string): Promise<string>;
}

const { hello } = proxyActivities<TrivialActivities>({ startToCloseTimeout: '10 seconds' });

export async function greet(name: string): Promise<string> {
  return await hello(name);
}

/** Returns the workflow clock before and after the sleep, so a test can see how far time moved. */
export async function sleepThirtyDays(): Promise<{ startedAt: number; endedAt: number }> {
  const startedAt = Date.now();
  await sleep('30 days');
  return { startedAt, endedAt: Date.now() };
}

export const releaseSignal = defineSignal('release');

/** Stays open until signalled: a workflow that must survive a stack restart without a worker. */
export async function waitForRelease(): Promise<string> {
  let released = false;
  setHandler(releaseSignal, () => {
    released = true;
  });
  await condition(() => released);
  return 'released';
}
