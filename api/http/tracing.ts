/**
 * A server span per request when the process traces (lib/tracing.ts), by @fastify/otel: the request span
 * and a child span around the route handler, which is active while the handler runs, so the intake
 * handler's start of an order (and its logs) belong to the request's trace. The span is named and tagged
 * by the route pattern, never the URL: a link's URL is its delivery token. Exceptions are not recorded
 * (an error's message and stack are the error handler's to log, scrubbed); the status says it failed.
 */
import type { FastifyInstance } from 'fastify';
import { activeTracing } from '../../lib/tracing';
import { safeRoute } from './request-log';

export async function traceRequests(app: FastifyInstance): Promise<void> {
  if (!activeTracing()) return;
  const { FastifyOtelInstrumentation } = await import('@fastify/otel');
  const instrumentation = new FastifyOtelInstrumentation({
    instrumentHooks: false,
    recordExceptions: false,
    requestHook: (span, request) => {
      const route = safeRoute(request);
      span.updateName(`${request.method} ${route}`);
      span.setAttribute('url.path', route);
    },
  });
  await app.register(instrumentation.plugin());
}
