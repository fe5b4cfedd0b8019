/**
 * pino, with two layers of protection: known secret fields are censored by path, and every line that is
 * about to be written goes through a pattern filter, so a card code, a delivery token or an email address
 * that reached a log by an unexpected route (an error message, a URL, Temporal's own logs) is still masked.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type DestinationStream, type Logger } from 'pino';

const SECRET_KEYS = [
  'value',
  'serial',
  'cards',
  'code',
  'token',
  'rawToken',
  'recipient',
  'email',
  'password',
  'secret',
  'secretId',
  'secret_id',
  'clientSecret',
  'authorization',
  'cookie',
  'plaintext',
  'apiKey',
];

const SECRET_KEY_SET = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));

/** A field named like a secret (its last dotted segment, any case): censored in logs and in spans alike. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_SET.has((key.split('.').pop() ?? key).toLowerCase());
}

export const redactPaths = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-signature"]',
];

const PATTERNS: Array<[RegExp, string | ((m: string, ...g: string[]) => string)]> = [
  // Card-code-shaped strings: four groups of four with separators (any case), or sixteen in a row. A run
  // of more groups goes whole: "card ABCD-EFGH-JKMN-PQRS" would otherwise keep its last group.
  [/\b[A-Za-z0-9]{4}(?:[- ][A-Za-z0-9]{4}){3,}\b/g, '[REDACTED:code]'],
  [/\b[A-Z0-9]{16}\b/g, '[REDACTED:code]'],
  // Delivery tokens in link paths (/d/<token>, /d/<token>/reveal).
  [/\/d\/[A-Za-z0-9_-]{16,}/g, '/d/[REDACTED:token]'],
  // Email addresses: keep the domain for operators, mask the mailbox.
  [/\b[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\b/g, (_m, domain: string) => `***@${domain}`],
  // Vault tokens (hvs./s.) and bearer credentials.
  [/\b(?:hvs|hvb|s)\.[A-Za-z0-9_-]{20,}\b/g, '[REDACTED:vault-token]'],
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=-]{16,}/gi, '$1 [REDACTED]'],
];

/** Masks anything that looks like a secret in a string; used for log lines and for error messages. */
export function scrub(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) {
    out = out.replace(re, replacement as string);
  }
  return out;
}

export function createLogger(
  options: { level?: string; name?: string } = {},
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      name: options.name,
      redact: { paths: redactPaths, censor: '[REDACTED]' },
      hooks: { streamWrite: scrub },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: traceFields,
    },
    destination ?? defaultDestination(),
  );
}

/**
 * The active span's ids (lib/tracing.ts), named as Temporal's interceptors name them in workflow and activity
 * log attributes, so every line of a traced request or activity carries its trace. Without tracing there is
 * never an active span and this adds nothing.
 */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/** stdout, or LOG_FILE when set (the test suite collects every process's lines there to hunt for leaks). */
function defaultDestination(): DestinationStream {
  const file = process.env.LOG_FILE;
  return file ? pino.destination({ dest: file, append: true, mkdir: true, sync: true }) : pino.destination(1);
}

let root: Logger | undefined;

export function logger(): Logger {
  root ??= createLogger({ name: 'giftcards' });
  return root;
}

/** Temporal's Runtime logger interface over pino, so the SDK's own logs are redacted the same way. */
export class TemporalPinoLogger implements TemporalLogger {
  constructor(private readonly pinoLogger: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[
      level
    ];
    this.pinoLogger[method]({ ...meta, source: 'temporal' }, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
