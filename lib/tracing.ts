/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. Off means off: the SDK
 * (lib/tracing-sdk.ts) is not even loaded, no client or worker gets an interceptor, the API no request
 * span, and the logger's trace fields stay empty. On, each process's entry point starts it before it
 * connects anything, and one order is one trace: the intake request's span (api/http/tracing.ts) is the
 * parent of the client's StartWorkflow span, whose context travels in the workflow's headers to its
 * RunWorkflow span, and from there in each activity's headers to its RunActivity span on a worker.
 */
import type { Config } from './config';
import type { Tracing, TracingOptions } from './tracing-sdk';

export type { Tracing, TracingOptions };

let active: Tracing | undefined;

/** This process's tracing, once started; clients, workers and the API consult it when they are built. */
export function activeTracing(): Tracing | undefined {
  return active;
}

/** Tracing as configured: undefined, and nothing loaded or started, when OTEL_EXPORTER_OTLP_ENDPOINT is unset. */
export function startTracingFromConfig(cfg: Config, serviceName: string): Promise<Tracing | undefined> {
  if (!cfg.OTEL_EXPORTER_OTLP_ENDPOINT) return Promise.resolve(undefined);
  return startTracing({
    endpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: cfg.OTEL_SERVICE_NAME ?? serviceName,
  });
}

export async function startTracing(opts: TracingOptions): Promise<Tracing> {
  if (active) throw new Error('tracing is already started in this process');
  const { createTracing } = await import('./tracing-sdk');
  const tracing = createTracing(opts, () => {
    if (active === tracing) active = undefined;
  });
  active = tracing;
  return tracing;
}
