/**
 * A minimal OpenTelemetry collector for tests: an OTLP/HTTP receiver (POST /v1/traces, the JSON encoding
 * @opentelemetry/exporter-trace-otlp-http sends) on an ephemeral port, keeping every body as received.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One exported span, as the OTLP/JSON body carries it, its attributes flattened. */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
  attributes: Record<string, unknown>;
}

export interface Collector {
  url: string;
  /** Every request body as received (after content decoding): what a collector would store. */
  bodies: string[];
  contentTypes: string[];
  spans(): ExportedSpan[];
  /** Flushes the exporter until the spans received satisfy `done`; those spans. */
  waitFor(flush: () => Promise<void>, done: (spans: ExportedSpan[]) => boolean): Promise<ExportedSpan[]>;
  stop(): Promise<void>;
}

type OtlpValue = Record<string, unknown>;
type OtlpKeyValue = { key: string; value: OtlpValue };
const otlpValue = (v: OtlpValue): unknown =>
  v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue ?? v.arrayValue ?? v.kvlistValue;
const attributesOf = (kvs: OtlpKeyValue[] = []) =>
  Object.fromEntries(kvs.map((a) => [a.key, otlpValue(a.value)]));

/** A minimal OTLP/HTTP collector: POST /v1/traces, JSON, every body kept. */
export async function startCollector(): Promise<Collector> {
  const bodies: string[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      bodies.push((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'));
      contentTypes.push(String(req.headers['content-type']));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const collector: Collector = {
    url: `http://127.0.0.1:${port}`,
    bodies,
    contentTypes,
    spans() {
      return bodies.flatMap((body): ExportedSpan[] =>
        (JSON.parse(body).resourceSpans ?? []).flatMap(
          (rs: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: Array<{ spans?: unknown[] }> }) => {
            const service = String(attributesOf(rs.resource?.attributes)['service.name']);
            return (rs.scopeSpans ?? []).flatMap((ss) =>
              (ss.spans ?? []).map((s) => {
                const span = s as Record<string, unknown>;
                return {
                  traceId: span.traceId as string,
                  spanId: span.spanId as string,
                  parentSpanId: (span.parentSpanId as string) || undefined,
                  name: span.name as string,
                  kind: span.kind as number,
                  service,
                  attributes: attributesOf(span.attributes as OtlpKeyValue[]),
                };
              }),
            );
          },
        ),
      );
    },
    async waitFor(flush, done) {
      const until = Date.now() + 30_000;
      for (;;) {
        await flush();
        const spans = collector.spans();
        if (done(spans)) return spans;
        if (Date.now() > until)
          throw new Error(`the spans awaited never arrived; got ${spans.map((s) => s.name)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return collector;
}
