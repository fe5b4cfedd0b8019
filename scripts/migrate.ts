// npm run migrate -- up | down [N]   (MIGRATION_DATABASE_URL, else DATABASE_URL, from the environment or
// the local stack's env file). In production (NODE_ENV unset or production) the URL must ask for TLS.
import { assertMigrationUrlSafe, loadStackEnv } from '../lib/config';
import { migrate } from '../lib/migrate';

async function main() {
  loadStackEnv();
  const [direction = 'up', count] = process.argv.slice(2);
  if (direction !== 'up' && direction !== 'down') throw new Error('usage: migrate up|down [count]');
  // The schema owner's URL where the apps connect with a role of their own (the local stack does so).
  const url = process.env.MIGRATION_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('MIGRATION_DATABASE_URL or DATABASE_URL is required but not set');
  assertMigrationUrlSafe(
    process.env,
    process.env.MIGRATION_DATABASE_URL ? 'MIGRATION_DATABASE_URL' : 'DATABASE_URL',
    url,
  );
  const names = await migrate(url, direction, count ? Number(count) : undefined);
  console.log(names.length ? `${direction}: ${names.join(', ')}` : `${direction}: nothing to do`);
}

main().catch((err) => {
  console.error(`migrate failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
