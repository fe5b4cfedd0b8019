/**
 * Every place a secret could end up, read raw: the Temporal server's own store, a full dump of the
 * database, every log line, every captured email. `findIn` says which needles a sink contains.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { config, repoRoot } from '../../lib/config';
import { allMail } from './mailbox';

const run = promisify(execFile);

export interface Sink {
  name: string;
  text: string;
}

export function findIn(sink: Sink, needles: string[]): string[] {
  return needles.filter((n) => sink.text.includes(n));
}

/** The dev server's SQLite database, table by table, as the server stores it (no SDK, no codec). */
export async function scanTemporalStore(
  needles: string[],
): Promise<{ scannedBytes: number; found: Record<string, string[]> }> {
  const db = path.join(repoRoot, '.data', 'temporal', 'temporal.db');
  if (!existsSync(db))
    throw new Error(`no Temporal store at ${db}: is the local stack's dev server running?`);
  const child = run('python3', [path.join(__dirname, 'scan-temporal-store.py'), db], { maxBuffer: 64 << 20 });
  child.child.stdin?.end(JSON.stringify(needles));
  return JSON.parse((await child).stdout);
}

/** pg_dump of the whole application database: schema and every row of every table. */
export async function postgresDump(): Promise<Sink> {
  const { stdout } = await run('pg_dump', ['--no-owner', config().DATABASE_URL], { maxBuffer: 512 << 20 });
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
