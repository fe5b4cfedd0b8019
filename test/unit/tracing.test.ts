/**
 * Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, and off starts nothing: no tracer provider is
 * registered, spans are not recorded, no request gets a span, no log line a trace id. On (against an
 * in-process OTLP receiver), request spans are named by their route and log lines carry the trace; and
 * whatever a span holds, the exporter masks what looks like a secret before it leaves the process.
 */
import { context, ProxyTracerProvider, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { traceRequests } from '../../api/http/tracing';
import { parseConfig } from '../../lib/config';
import { createLogger, SCRUB_MAX } from '../../lib/logger';
import { activeTracing, startTracing, startTracingFromConfig } from '../../lib/tracing';
import { RedactingSpanExporter } from '../../lib/tracing-sdk';
import { startCollector } from '../helpers/otlp-collector';

const VALID: NodeJS.ProcessEnv = {
  NODE_ENV: 'development', // unset would mean production (lib/config.ts), which refuses plain SMTP and Temporal
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/giftcards',
  VAULT_ADDR: 'https://vault.internal:8200',
  PROVIDER_BASE_URL: 'https://provider.example',
  PROVIDER_API_KEY: 'provider-key-0123456789',
  SMTP_URL: 'smtp://relay.internal:587',
  PUBLIC_BASE_URL: 'https://cards.example',
};
const CODE = 'ABCD-EFGH-JKMN-PQRS';
const TOKEN = 'q3Vx9_Lm2-Zt8YpR4sWn7Kc1Hb6Jd0Fg5Ea3Ui9Oo2P';
const EMAIL = 'jane.doe@example.com';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', name: 'tracing-test' }, { write: (l: string) => lines.push(l) });
  return { log, last: () => JSON.parse(lines.at(-1) ?? 'null') };
}

/** What the global API hands out when no SDK registered itself: the no-op provider behind the proxy. */
function registeredProvider(): string {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider ? provider.getDelegate().constructor.name : 'not a proxy';
}

afterEach(async () => {
  await activeTracing()?.shutdown();
});

describe('tracing off (OTEL_EXPORTER_OTLP_ENDPOINT unset)', () => {
  it('starts nothing: no provider, no recorded span, no request span, no trace id in logs', async () => {
    expect(await startTracingFromConfig(parseConfig(VALID), 'giftcards-test')).toBeUndefined();
    expect(activeTracing()).toBeUndefined();
    expect(registeredProvider()).toBe('NoopTracerProvider');

    const span = trace.getTracer('t').startSpan('s');
    expect(span.isRecording()).toBe(false);
    const out = capture();
    context.with(trace.setSpan(context.active(), span), () => out.log.info('inside'));
    expect(out.last()).not.toHaveProperty('trace_id');

    const app = Fastify();
    await traceRequests(app);
    expect(app.hasPlugin('@fastify/otel')).toBe(false);
    await app.close();
  });

  it('is on only with a valid endpoint, and a bad one is named without echoing it', () => {
    const bad = 'collector.internal:4318/with-secret-path';
    expect(() => parseConfig({ ...VALID, OTEL_EXPORTER_OTLP_ENDPOINT: bad })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    try {
      parseConfig({ ...VALID, OTEL_EXPORTER_OTLP_ENDPOINT: bad });
    } catch (err) {
      expect((err as Error).message).not.toContain('with-secret-path');
    }
  });
});

describe('tracing on', () => {
  it('spans of requests by route, never by URL; log lines inside carry the trace; shutdown turns it all off', async () => {
    const collector = await startCollector();
    try {
      const cfg = parseConfig({ ...VALID, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
      const tracing = await startTracingFromConfig(cfg, 'giftcards-test');
      expect(tracing).toBeDefined();
      expect(activeTracing()).toBe(tracing);
      expect(registeredProvider()).toBe('BasicTracerProvider');
      expect(tracing!.clientInterceptors).toHaveLength(1);
      expect(tracing!.workerOptions.interceptors?.workflowModules).toHaveLength(1);
      expect(tracing!.workerOptions.sinks).toHaveProperty('exporter');

      const out = capture();
      const app = Fastify();
      await traceRequests(app);
      let logged: { trace_id?: string } = {};
      app.get('/d/:token', async () => {
        out.log.info({ route: 'link' }, 'handled');
        logged = out.last();
        return 'ok';
      });
      const res = await app.inject({ method: 'GET', url: `/d/${TOKEN}?email=${EMAIL}` });
      expect(res.statusCode).toBe(200);
      await app.close();

      const spans = await collector.waitFor(tracing!.forceFlush, (all) =>
        all.some((s) => s.name === 'GET /d/:token'),
      );
      const request = spans.find((s) => s.name === 'GET /d/:token')!;
      expect(request.kind).toBe(2); // SERVER
      expect(request.service).toBe('giftcards-test');
      expect(request.attributes['url.path']).toBe('/d/:token');
      expect(logged.trace_id).toBe(request.traceId);
      const exported = collector.bodies.join('\n');
      expect(exported).not.toContain(TOKEN);
      expect(exported).not.toContain(EMAIL);

      await tracing!.shutdown();
      expect(activeTracing()).toBeUndefined();
      expect(registeredProvider()).toBe('NoopTracerProvider');
      expect(trace.getTracer('t').startSpan('after').isRecording()).toBe(false);
    } finally {
      await collector.stop();
    }
  });

  it('refuses a second start in the same process', async () => {
    const collector = await startCollector();
    try {
      await startTracing({ endpoint: collector.url, serviceName: 'a' });
      await expect(startTracing({ endpoint: collector.url, serviceName: 'b' })).rejects.toThrow(/already/);
    } finally {
      await activeTracing()?.shutdown();
      await collector.stop();
    }
  });
});

describe('RedactingSpanExporter', () => {
  it('masks codes, tokens and addresses everywhere in a span, censors secret-named attributes, drops objects', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new RedactingSpanExporter(memory))],
    });
    const span = provider.getTracer('t').startSpan(`reveal /d/${TOKEN}`, {
      attributes: {
        'url.full': `https://cards.example/d/${TOKEN}/reveal`,
        note: `card ${CODE} for ${EMAIL}`,
        recipients: [EMAIL, 'ok'],
        'order.recipient': 'not-shaped-like-an-address',
        'provider.apiKey': 'pk-live-0123456789',
        'http.response.status_code': 200,
        retried: true,
      },
    });
    // Not an OpenTelemetry attribute value, but what the workflow exporter copies in from the workflow's info.
    span.setAttribute('memo', { recipient: EMAIL } as never);
    span.addEvent('exception', { 'exception.message': `bad code ${CODE}` });
    span.setStatus({ code: SpanStatusCode.ERROR, message: `mail to ${EMAIL} failed` });
    span.end();
    await provider.forceFlush();

    const [exported] = memory.getFinishedSpans();
    expect(exported).toBeDefined();
    const text = JSON.stringify({
      name: exported!.name,
      attributes: exported!.attributes,
      events: exported!.events,
      status: exported!.status,
    });
    for (const secret of [CODE, TOKEN, EMAIL, 'jane.doe', 'not-shaped-like-an-address', 'pk-live-0123456789'])
      expect(text).not.toContain(secret);
    expect(exported!.attributes).toMatchObject({
      'url.full': 'https://cards.example/d/[REDACTED:token]/reveal',
      note: '[REDACTED:code] for ***@example.com',
      recipients: ['***@example.com', 'ok'],
      'order.recipient': '[REDACTED]',
      'provider.apiKey': '[REDACTED]',
      'http.response.status_code': 200,
      retried: true,
    });
    expect(exported!.attributes).not.toHaveProperty('memo');
    expect(exported!.spanContext().traceId).toBe(span.spanContext().traceId);
    await provider.shutdown();
  });

  it("cuts a span's long strings to SCRUB_MAX before it scrubs them, masking a code across the cut whole", async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new RedactingSpanExporter(memory))],
    });
    // 64 KB of the path, with a card code straddling the cut.
    const long = `${'a.'.repeat((SCRUB_MAX - 8) / 2)}${CODE}.${'a.'.repeat(32 * 1024)}`;
    const span = provider.getTracer('t').startSpan(long, { attributes: { 'url.path': long, list: [long] } });
    span.addEvent(long, { 'exception.message': long });
    span.setStatus({ code: SpanStatusCode.ERROR, message: long });
    span.end();
    await provider.forceFlush();

    const [exported] = memory.getFinishedSpans();
    const strings = [
      exported!.name,
      exported!.attributes['url.path'] as string,
      (exported!.attributes.list as string[])[0]!,
      exported!.events[0]!.name,
      exported!.events[0]!.attributes!['exception.message'] as string,
      exported!.status.message!,
    ];
    for (const text of strings) {
      expect(text.length).toBeLessThanOrEqual(SCRUB_MAX + '[REDACTED:code]'.length + 1);
      expect(text.endsWith('[REDACTED:code]…')).toBe(true);
      for (const group of CODE.split('-')) expect(text).not.toContain(group);
    }
    await provider.shutdown();
  });
});
