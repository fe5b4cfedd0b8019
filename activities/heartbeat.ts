import { Context } from '@temporalio/activity';

/**
 * Heartbeats every couple of seconds while `fn` waits on something slow (a provider, an SMTP server), so
 * that a step lost with its worker is noticed after the heartbeat timeout, not its whole start-to-close.
 * Outside an activity (a test or a script calling the function directly) there is nothing to beat for.
 */
export async function withHeartbeats<T>(fn: () => Promise<T>, everyMs = 2_000): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return fn();
  }
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), everyMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
