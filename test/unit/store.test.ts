/**
 * One store module per aggregate (store/): the only place its tables are read or written. This scans every
 * source file the processes run for SQL that names a table (FROM, JOIN, INTO, UPDATE, TRUNCATE) and fails
 * on any table named outside its own store module, and on a table of the migrations that no store owns.
 * The benchmarks' and tests' fixtures (scripts/bench/fixtures.ts: the schema owner's, never a component's)
 * are the one declared exception.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lib/config';

/** Each table and the one module that reads and writes it. */
const OWNERS: Record<string, string> = {
  orders: 'store/orders.ts',
  cards: 'store/cards.ts',
  deliveries: 'store/deliveries.ts',
  delivery_cards: 'store/deliveries.ts',
  delivery_tokens: 'store/deliveries.ts',
  reveal_keys: 'store/deliveries.ts',
  // Written by the database's own functions only (request_resend_as_*, mint_delivery), called from here.
  resend_requests: 'store/deliveries.ts',
  intake_requests: 'store/intake.ts',
  intake_signatures: 'store/intake.ts',
  intake_idempotency_keys: 'store/intake.ts',
  webhook_events: 'store/webhooks.ts',
  audit_log: 'store/audit.ts',
  rate_limit_counters: 'store/rate-limits.ts',
  operator_sessions: 'store/operator-sessions.ts',
};

const FIXTURES = 'scripts/bench/fixtures.ts';
const SOURCES = [
  'contracts',
  'lib',
  'store',
  'domain',
  'workflows',
  'activities',
  'api',
  'workers',
  'scripts',
  'provider-sandbox',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(rel);
    return /\.(ts|js|mjs|cjs)$/.test(e.name) ? [rel] : [];
  });
}

/** Tables named by SQL in a text (keywords in capitals, as this code base writes SQL; prose says "from"). */
function tablesNamed(text: string): Set<string> {
  const named = new Set<string>();
  for (const m of text.matchAll(/\b(?:FROM|JOIN|INTO|UPDATE|TRUNCATE)\s+(?:ONLY\s+)?([a-z_][a-z0-9_]*)\b/g))
    if (m[1]! in OWNERS) named.add(m[1]!);
  return named;
}

/** Table → the files whose SQL names it. */
function touches(): Map<string, string[]> {
  const byTable = new Map<string, string[]>(Object.keys(OWNERS).map((t) => [t, []]));
  for (const file of SOURCES.flatMap(sourceFiles).sort()) {
    for (const table of tablesNamed(readFileSync(path.join(repoRoot, file), 'utf8')))
      byTable.get(table)!.push(file);
  }
  return byTable;
}

describe('store modules', () => {
  it('finds SQL that names a table, not prose', () => {
    expect([...tablesNamed('SELECT 1 FROM orders o JOIN cards c ON true')]).toEqual(['orders', 'cards']);
    expect([...tablesNamed('the cards from orders; UPDATE  delivery_tokens SET')]).toEqual([
      'delivery_tokens',
    ]);
    expect([...tablesNamed('purge_orders($1) FROM unnest($1)')]).toEqual([]);
  });

  it('each table is read and written by its own store module only', () => {
    const byTable = touches();
    const report = [...byTable].map(([t, files]) => `${t.padEnd(20)} ${files.join(', ')}`).join('\n');
    console.log(`which files touch each table (fixtures: ${FIXTURES}):\n${report}`);
    const strays = [...byTable].flatMap(([table, files]) =>
      files.filter((f) => f !== OWNERS[table] && f !== FIXTURES).map((f) => `${f} names ${table}`),
    );
    expect(strays).toEqual([]);
  });

  it('every table of the migrations has a store module', () => {
    const created = readdirSync(path.join(repoRoot, 'migrations'))
      .filter((f) => f.endsWith('.sql'))
      .flatMap((f) => [
        ...readFileSync(path.join(repoRoot, 'migrations', f), 'utf8').matchAll(
          /CREATE (?:UNLOGGED )?TABLE (\w+)/g,
        ),
      ])
      .map((m) => m[1]!);
    expect(created.filter((t) => !(t in OWNERS))).toEqual([]);
  });

  it('store statements are named prepared statements', () => {
    const unnamed = sourceFiles('store').flatMap((file) => {
      const text = readFileSync(path.join(repoRoot, file), 'utf8');
      // A query with a bare string or template literal as its first argument, not a { name, text } config.
      return [...text.matchAll(/\.query(?:<[^>]*>)?\(\s*[`'"]/g)].map(() => file);
    });
    expect(unnamed).toEqual([]);
  });
});
