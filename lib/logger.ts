/**
 * pino, with two layers of protection, both applied to every line as it is written (bindings of child
 * loggers, serialized errors and requests included): fields named like a secret are censored at any depth,
 * and a pattern filter masks what reached a line by another route (an error message quoting a provider's
 * body, a URL, Temporal's own logs): card codes, card-ish fields' values in text, delivery tokens, email
 * addresses, Vault tokens and bearer credentials.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type DestinationStream, type Logger } from 'pino';

/** Field names whose value never reaches a log, at any depth; compared without case, "-" or "_". */
export const SECRET_KEYS = [
  'value',
  'serial',
  'serialNumber',
  'serialNo',
  'cards',
  'code',
  'cardCode',
  'cardNumber',
  'pin',
  'token',
  'rawToken',
  'revealKey',
  'recipient',
  'email',
  'password',
  'secret',
  'secretId',
  'clientSecret',
  'nonce',
  'authorization',
  'cookie',
  'set-cookie',
  'plaintext',
  'apiKey',
  'x-api-key',
  'x-signature',
];

const CENSOR = '[REDACTED]';
const normalize = (key: string) => key.toLowerCase().replace(/[-_]/g, '');
const SECRET_KEY_SET = new Set(SECRET_KEYS.map(normalize));

/** A field named like a secret (its last dotted segment, any case): censored in logs and in spans alike. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_SET.has(normalize(key.split('.').pop() ?? key));
}

/** A parsed log line with every secret-named field censored, however deep. */
function censorSecretFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(censorSecretFields);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value))
    out[key] = SECRET_KEY_SET.has(normalize(key)) ? CENSOR : censorSecretFields(v);
  return out;
}

// A card-ish field's name in text ("serial": "…", value=…, cardCode: …), in any case, quotes possibly
// JSON-escaped, and what follows it when it is shaped like a card's data: codes in groups, serials and PINs
// (digits), and codes in one case without separators (lowercase ones too, which the bare patterns leave
// alone because ids and hashes look the same). Mixed-case words ("code: NotFound") stay readable.
const anyCase = (word: string) => word.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
const CARDISH_NAME = [
  `${anyCase('serial')}(?:[_-]?(?:${anyCase('number')}|${anyCase('no')}))?`,
  `${anyCase('card')}(?:[_-]?(?:${anyCase('code')}|${anyCase('number')}))?`,
  `(?:${anyCase('redemption')}|${anyCase('claim')})[_-]?${anyCase('code')}`,
  anyCase('value'),
  anyCase('code'),
  anyCase('pin'),
].join('|');
const CARDISH_VALUE = '[A-Za-z0-9]{4}(?:[ -][A-Za-z0-9]{4})+|\\d{4,}|[a-z0-9]{8,}|[A-Z0-9]{8,}';
const CARDISH_FIELD = new RegExp(
  `(?<![A-Za-z0-9_])((?:${CARDISH_NAME})(?:\\\\*["'])?\\s*[:=]\\s*(?:\\\\*["'])?)(?:${CARDISH_VALUE})(?![A-Za-z0-9])`,
  'g',
);

const PATTERNS: Array<[RegExp, string | ((m: string, ...g: string[]) => string)]> = [
  // Card-code-shaped strings: four groups of four with separators (any case), or sixteen in a row. A run
  // of more groups goes whole: "card ABCD-EFGH-JKMN-PQRS" would otherwise keep its last group.
  [/\b[A-Za-z0-9]{4}(?:[- ][A-Za-z0-9]{4}){3,}\b/g, '[REDACTED:code]'],
  [/\b[A-Z0-9]{16}\b/g, '[REDACTED:code]'],
  // What follows a card-ish field's name in text: a serial (digits), a lowercase or unseparated code.
  [CARDISH_FIELD, '$1[REDACTED]'],
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

/** One serialized log line, censored by field name (when it is JSON) and then by pattern. */
export function redactLine(line: string): string {
  let censored = line;
  try {
    censored = `${JSON.stringify(censorSecretFields(JSON.parse(line)))}\n`;
  } catch {
    // Not JSON (a pretty-printed or foreign line): the patterns still apply.
  }
  return scrub(censored);
}

export function createLogger(
  options: { level?: string; name?: string } = {},
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      name: options.name,
      hooks: { streamWrite: redactLine },
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
