import path from 'node:path';
import { repoRoot } from './config';

/** Applies (or rolls back) the SQL migrations in migrations/ to the database at url. */
export async function migrate(url: string, direction: 'up' | 'down', count?: number): Promise<string[]> {
  // node-pg-migrate ships as an ES module only.
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl: url,
    dir: path.join(repoRoot, 'migrations'),
    direction,
    count: count ?? (direction === 'up' ? Number.POSITIVE_INFINITY : 1),
    migrationsTable: 'pgmigrations',
    log: () => {},
    singleTransaction: true,
  });
  return applied.map((m) => m.name);
}
