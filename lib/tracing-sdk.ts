/**
 * The OpenTelemetry SDK behind lib/tracing.ts, loaded only when a process traces. Spans are batched and
 * exported over OTLP/HTTP (JSON) to `<endpoint>/v1/traces`, each through `RedactingSpanExporter`: the
 * logger's patterns mask card codes, tokens and email addresses in names, attributes, events and status
 * messages; attributes named like a secret are censored; values that are not OpenTelemetry attribute values
 * (the objects the workflow exporter copies from the workflow's info) are dropped rather than serialised.
 */
import { context, propagation, type SpanContext, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
  type TimedEvent,
} from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityOutboundCallsInterceptor,
  GetLogAttributesInput,
  Next,
  WorkerOptions,
} from '@temporalio/worker';
import { isSecretKey, scrub, traceFields } from './logger';

/** The workflow side of the interceptors; a worker's workflow bundle must be built with it. */
export const WORKFLOW_INTERCEPTOR_MODULES = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

export interface TracingOptions {
  /** The OTLP/HTTP collector's base address. */
  endpoint: string;
  serviceName: string;
}

export interface Tracing {
  readonly serviceName: string;
  /** For every Temporal client: a span per start, signal and query, its context in the workflow's headers. */
  readonly clientInterceptors: WorkflowClientInterceptor[];
  /**
   * For every worker: the workflow interceptors (bundled with the workflows: a prebuilt bundle must be built
   * with WORKFLOW_INTERCEPTOR_MODULES), the activity interceptors, and the sink that exports workflow spans.
   */
  readonly workerOptions: Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Exports what has ended now (spans are otherwise batched a few seconds apart). */
  forceFlush(): Promise<void>;
  /** Exports what is left and takes the SDK down; the process is untraced afterwards. */
  shutdown(): Promise<void>;
}

/** Starts the SDK and registers it globally (the interceptors and the Fastify instrumentation find it there). */
export function createTracing(opts: TracingOptions, onShutdown: () => void): Tracing {
  const resource = Resource.default().merge(new Resource({ 'service.name': opts.serviceName }));
  const exporter = new RedactingSpanExporter(
    new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` }),
  );
  const processor: SpanProcessor = new BatchSpanProcessor(exporter);
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  // W3C trace context propagation (the default), the active span carried across awaits.
  provider.register({ contextManager: new AsyncLocalStorageContextManager() });

  let down: Promise<void> | undefined;
  return {
    serviceName: opts.serviceName,
    clientInterceptors: [new OpenTelemetryWorkflowClientInterceptor()],
    workerOptions: {
      interceptors: {
        workflowModules: WORKFLOW_INTERCEPTOR_MODULES,
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
          () => {
            const ids = new ActivityTraceIds();
            return { inbound: ids, outbound: ids };
          },
        ],
      },
      // Workflow spans are made in the sandbox and handed to this process's processor (never during replay).
      sinks: { exporter: makeWorkflowExporter(processor, resource) },
    },
    forceFlush: () => provider.forceFlush(),
    shutdown() {
      down ??= (async () => {
        onShutdown();
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          context.disable();
          propagation.disable();
        }
      })();
      return down;
    },
  };
}

/**
 * The activity's trace ids on the worker's own lines about it too ("Activity failed" with the error that a
 * retry will follow), which are written after its span has ended, outside its context.
 */
class ActivityTraceIds implements ActivityInboundCallsInterceptor, ActivityOutboundCallsInterceptor {
  private ids: { trace_id: string; span_id: string } | undefined;

  execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    // Runs inside the RunActivity span (the OpenTelemetry interceptor comes first).
    const ids = traceFields();
    if (ids.trace_id && ids.span_id) this.ids = { trace_id: ids.trace_id, span_id: ids.span_id };
    return next(input);
  }

  getLogAttributes(
    input: GetLogAttributesInput,
    next: Next<ActivityOutboundCallsInterceptor, 'getLogAttributes'>,
  ): Record<string, unknown> {
    return next(this.ids ? { ...this.ids, ...input } : input);
  }
}

type AttributeValue = ReadableSpan['attributes'][string];

function isPrimitive(v: unknown): v is string | number | boolean | null | undefined {
  return v == null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function cleanValue(key: string, value: unknown): AttributeValue | undefined {
  if (isSecretKey(key)) return '[REDACTED]';
  if (typeof value === 'string') return scrub(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every(isPrimitive)) {
    return value.map((v) => (typeof v === 'string' ? scrub(v) : v)) as AttributeValue;
  }
  return undefined;
}

function cleanAttributes(attributes: Record<string, unknown> | undefined): ReadableSpan['attributes'] {
  const out: ReadableSpan['attributes'] = {};
  for (const [key, value] of Object.entries(attributes ?? {})) {
    const clean = cleanValue(key, value);
    if (clean !== undefined) out[key] = clean;
  }
  return out;
}

function cleanSpan(span: ReadableSpan): ReadableSpan {
  const spanContext: SpanContext = span.spanContext();
  return {
    name: scrub(span.name),
    kind: span.kind,
    spanContext: () => spanContext,
    parentSpanId: span.parentSpanId,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status.message ? { ...span.status, message: scrub(span.status.message) } : span.status,
    attributes: cleanAttributes(span.attributes),
    links: span.links.map((l) => ({ ...l, attributes: l.attributes && cleanAttributes(l.attributes) })),
    events: span.events.map(
      (e): TimedEvent => ({
        ...e,
        name: scrub(e.name),
        attributes: e.attributes && cleanAttributes(e.attributes),
      }),
    ),
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationLibrary: span.instrumentationLibrary,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** Hands the wrapped exporter copies of the spans with nothing secret-shaped left in them. */
export class RedactingSpanExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(spans.map(cleanSpan), done);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
