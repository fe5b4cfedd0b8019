/**
 * pino, with two layers of protection, both applied to every line as it is written (bindings of child
 * loggers, serialized errors and requests included): fields named like a secret are censored at any depth,
 * and a pattern filter masks what reached a line by another route (an error message quoting a provider's
 * body, a URL, Temporal's own logs): card codes, card-ish fields' values in text, delivery tokens, email
 * addresses, Vault tokens and bearer credentials. Both have a budget: every string is cut to SCRUB_MAX
 * before the patterns read it (a secret across the cut is masked whole), and every pattern runs in time
 * linear in what it reads, so no line, span or error message costs more than its length's worth.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type DestinationStream, type Logger } from 'pino';

/** Field names whose value never reaches a log, at any depth; compared without case, "-" or "_". */
const SECRET_KEYS = [
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

/**
 * A parsed log line with every secret-named field censored, however deep, and every string (values and
 * keys) longer than SCRUB_MAX cut to it, scrubbed: a line is never scrubbed for longer than its fields' worth.
 */
function censorSecretFields(value: unknown): unknown {
  if (typeof value === 'string') return value.length > SCRUB_MAX ? scrub(value) : value;
  if (Array.isArray(value)) return value.map(censorSecretFields);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = key.length > SCRUB_MAX ? scrub(key) : key;
    out[name] = SECRET_KEY_SET.has(normalize(key)) ? CENSOR : censorSecretFields(v);
  }
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

type Pattern = [RegExp, (match: RegExpExecArray) => string];

const MAILBOX = '[A-Za-z0-9._%+-]';
const DOMAIN = '[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+\\b';
const EMAILS = new RegExp(`(?<!${MAILBOX})${MAILBOX}+@${DOMAIN}(?:${MAILBOX}+@${DOMAIN})*`, 'g');
const DOMAIN_AT = new RegExp(DOMAIN, 'y');

/** "***@domain" for each address of a run EMAILS matched: each "@" and the domain after it, in one pass. */
function maskEmails([run]: RegExpExecArray): string {
  let out = '';
  for (let at = run.indexOf('@'); at >= 0; at = run.indexOf('@', at + 1)) {
    DOMAIN_AT.lastIndex = at + 1;
    const domain = DOMAIN_AT.exec(run)?.[0] ?? '';
    out += `***@${domain}`;
    at += domain.length;
  }
  return out;
}

// Every pattern is linear in its input's length on V8's backtracking engine: no pattern can start at
// every position of a long run and read to its end from each (a match starts only where a run starts, or
// reads a bounded distance from where it starts), and no two quantifiers can split one run between them
// in more than one way. test/unit/logger.test.ts holds each call to a time budget on adversarial inputs.
const PATTERNS: Pattern[] = [
  // Card-code-shaped strings: four groups of four with separators (any case), or sixteen in a row. A run
  // of more groups goes whole: "card ABCD-EFGH-JKMN-PQRS" would otherwise keep its last group.
  [/\b[A-Za-z0-9]{4}(?:[- ][A-Za-z0-9]{4}){3,}\b/g, () => '[REDACTED:code]'],
  [/\b[A-Z0-9]{16}\b/g, () => '[REDACTED:code]'],
  // What follows a card-ish field's name in text: a serial (digits), a lowercase or unseparated code.
  [CARDISH_FIELD, (m) => `${m[1]}[REDACTED]`],
  // Delivery tokens in link paths (/d/<token>, /d/<token>/reveal).
  [/\/d\/[A-Za-z0-9_-]{16,}/g, () => '/d/[REDACTED:token]'],
  // Email addresses: keep the domain for operators, mask the mailbox. A match starts only where a run of
  // mailbox characters starts (a `\b` there would try again at every dot of "a.a.a.…", each time reading
  // to the run's end: quadratic, 140 ms for 16 KB), and takes addresses glued on in the same run with it
  // ("a@b.co+c@d.com"), which a match starting later in the run would have missed.
  [EMAILS, maskEmails],
  // Vault tokens (hvs./s.) and bearer credentials.
  [/\b(?:hvs|hvb|s)\.[A-Za-z0-9_-]{20,}\b/g, () => '[REDACTED:vault-token]'],
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=-]{16,}/gi, (m) => `${m[1]} [REDACTED]`],
];

/** How much of a text `scrub` keeps by default: a log field, a span attribute, an error message. */
export const SCRUB_MAX = 4096;
/**
 * How far past the cut the patterns still read: a secret that straddles the cut (a card code, a token, a
 * mailbox, up to this long) is recognised whole and masked, never kept in part.
 */
const SCRUB_OVERLAP = 256;

/**
 * One pattern over `text`, and where the cut at input offset `cut` lands in the result: before a match
 * that starts at or after it, after the replacement of a match that straddles it.
 */
function replaceTracking(text: string, [re, replace]: Pattern, cut: number): [string, number] {
  let out = '';
  let last = 0;
  let outCut = -1;
  for (const m of text.matchAll(re)) {
    const start = m.index;
    const end = start + m[0].length;
    if (outCut < 0 && start >= cut) outCut = out.length + (cut - last);
    out += text.slice(last, start);
    out += replace(m);
    if (outCut < 0 && end > cut) outCut = out.length;
    last = end;
  }
  if (outCut < 0) outCut = out.length + (cut - last);
  return [out + text.slice(last), outCut];
}

/**
 * Masks anything that looks like a secret in a string (log lines, span attributes, error messages), in
 * time linear in `max`: the text is cut to `max` characters first (plus a short overlap the patterns read
 * so a secret across the cut is masked whole), and a cut text ends in "…".
 */
export function scrub(text: string, max = SCRUB_MAX): string {
  const cut = Math.min(max, text.length);
  let out = text.length > max + SCRUB_OVERLAP ? text.slice(0, max + SCRUB_OVERLAP) : text;
  let outCut = cut;
  for (const pattern of PATTERNS) [out, outCut] = replaceTracking(out, pattern, outCut);
  return cut < text.length ? `${out.slice(0, outCut)}…` : out;
}

/** A log line that is not JSON (pino writes JSON; a foreign or pretty-printed line) is cut to this. */
const FOREIGN_LINE_MAX = 16 * 1024;

/** One serialized log line, censored by field name (when it is JSON) and then by pattern. */
export function redactLine(line: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    // Not JSON: cut, and the patterns still apply.
    const out = scrub(line, FOREIGN_LINE_MAX);
    return out.endsWith('\n') ? out : `${out}\n`;
  }
  // Every string in it is already cut to SCRUB_MAX (safely), so the whole line costs linear time.
  return scrub(`${JSON.stringify(censorSecretFields(parsed))}\n`, Number.POSITIVE_INFINITY);
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
