import { Context } from '@temporalio/activity';

/**
 * Heartbeats every couple of seconds while `fn` waits on something slow (a provider, an SMTP server), so
 * that a step lost with its worker is noticed after the heartbeat timeout, not its whole start-to-close.
 * Not at once: the server counts the heartbeat timeout from the attempt's start, so a step that ends
 * within the interval (an instant order's poll and link) costs the server no heartbeat at all. Outside an
 * activity (a test or a script calling the function directly) there is nothing to beat for.
 */
export async function withHeartbeats<T>(fn: () => Promise<T>, everyMs = 2_000): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return fn();
  }
  const timer = setInterval(() => context.heartbeat(), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
