/**
 * Every place a secret could end up, read raw: the Temporal server's own store, a full dump of the
 * database, every log line, every captured email. `findIn` says which needles a sink contains.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { repoRoot } from '../../lib/config';
import { fixtureUrl } from './fixture-db';
import { allMail } from './mailbox';

const run = promisify(execFile);

export interface Sink {
  name: string;
  text: string;
}

export function findIn(sink: Sink, needles: string[]): string[] {
  return needles.filter((n) => sink.text.includes(n));
}

/**
 * The Temporal server's own store, table by table, as the server wrote it (no SDK, no codec): the dev
 * server's SQLite file, or in the stack's cluster profile its two PostgreSQL databases (history, tasks and
 * visibility), whose addresses stack.sh writes into the tests' env file (TEMPORAL_STORE_DATABASE_URLS).
 */
export async function scanTemporalStore(
  needles: string[],
): Promise<{ scannedBytes: number; found: Record<string, string[]> }> {
  const urls = process.env.TEMPORAL_STORE_DATABASE_URLS;
  if (urls) return scanPostgresStore(urls.split(/\s+/).filter(Boolean), needles);
  const db = path.join(repoRoot, '.data', 'temporal', 'temporal.db');
  if (!existsSync(db))
    throw new Error(`no Temporal store at ${db}: is the local stack's dev server running?`);
  const child = run('python3', [path.join(__dirname, 'scan-temporal-store.py'), db], { maxBuffer: 64 << 20 });
  child.child.stdin?.end(JSON.stringify(needles));
  return JSON.parse((await child).stdout);
}

/** Every value of every table, bytea as the raw bytes (a pg_dump would show them hex-encoded). */
async function scanPostgresStore(
  urls: string[],
  needles: string[],
): Promise<{ scannedBytes: number; found: Record<string, string[]> }> {
  const wanted = needles.map((n) => Buffer.from(n));
  const found = new Map<string, Set<string>>();
  let scannedBytes = 0;
  for (const url of urls) {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const database = new URL(url).pathname.slice(1);
      const { rows: tables } = await db.query<{ name: string }>(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
      );
      for (const { name } of tables) {
        const { rows } = await db.query<unknown[]>({ text: `SELECT * FROM "${name}"`, rowMode: 'array' });
        for (const row of rows) {
          for (const value of row) {
            const bytes = Buffer.isBuffer(value)
              ? value
              : typeof value === 'string'
                ? Buffer.from(value)
                : value !== null && typeof value === 'object' && !(value instanceof Date)
                  ? Buffer.from(JSON.stringify(value)) // jsonb: visibility's search attributes
                  : undefined;
            if (!bytes) continue;
            scannedBytes += bytes.length;
            for (const [i, needle] of wanted.entries()) {
              if (!bytes.includes(needle)) continue;
              const tables = found.get(needles[i]!) ?? new Set<string>();
              found.set(needles[i]!, tables.add(`${database}.${name}`));
            }
          }
        }
      }
    } finally {
      await db.end();
    }
  }
  return { scannedBytes, found: Object.fromEntries([...found].map(([n, t]) => [n, [...t].sort()])) };
}

/** pg_dump of the whole application database: schema and every row of every table. */
export async function postgresDump(): Promise<Sink> {
  const { stdout } = await run('pg_dump', ['--no-owner', fixtureUrl()], { maxBuffer: 512 << 20 });
  return { name: 'postgres (pg_dump)', text: stdout };
}

/** Every log file of the test processes (LOG_FILE) and of the stack's own processes. */
export function logFiles(): Sink[] {
  const dirs = [path.join(repoRoot, '.data', 'test', 'logs'), path.join(repoRoot, '.data', 'logs')];
  return dirs.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir).map((f) => ({ name: `log ${f}`, text: readFileSync(path.join(dir, f), 'utf8') }))
      : [],
  );
}

/** Captured emails: what a mailbox shows (subject and bodies), recipients' headers aside. */
export async function emails(): Promise<Sink[]> {
  return (await allMail()).map((m) => ({
    name: `email ${m.subject}`,
    text: `${m.subject}\n${m.text}\n${m.html}`,
  }));
}
