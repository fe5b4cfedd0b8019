/**
 * PostgreSQL: the migrations build the schema on an empty database and roll it back cleanly, and the audit
 * trail is append-only by the database's own rules, not by the application's good manners (DESIGN 3.9).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { migrate } from '../../lib/migrate';
import { fixtureUrl, stackRoleUrl } from '../helpers/fixture-db';

const DATABASE_COMPONENTS = ['worker', 'api', 'retention', 'cli'] as const;

const APP_TABLES = ['audit_log', 'cards', 'deliveries', 'delivery_cards', 'delivery_tokens', 'orders'];

async function tablesIn(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

describe('migrations', () => {
  const name = `giftcards_mig_${randomBytes(6).toString('hex')}`;
  // The schema owner runs the migrations, as on the stack and in production.
  const url = stackRoleUrl('giftcards_owner', 'pg-owner-password', name);
  let admin: pg.Client;

  beforeAll(async () => {
    // The apps' role may not create databases (no CREATEDB), nor may the owner: the stack's superuser makes
    // the throwaway one, owned by the schema owner.
    admin = new pg.Client({
      connectionString: stackRoleUrl('postgres', 'pg-superuser-password', 'postgres').href,
    });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name} OWNER giftcards_owner`);
  });

  it.each(DATABASE_COMPONENTS)("the %s's role cannot create a database", async (component) => {
    const app = new pg.Client({ connectionString: databaseUrl(component) });
    await app.connect();
    let created = false;
    try {
      await app.query(`CREATE DATABASE ${name}_app`);
      created = true;
    } catch (err) {
      expect((err as { code?: string }).code).toBe('42501'); // insufficient_privilege
    } finally {
      await app.end();
      // A cluster made before the role lost CREATEDB (`bash scripts/stack.sh up` takes it away): tidy up.
      if (created) await admin.query(`DROP DATABASE IF EXISTS ${name}_app`);
    }
    expect(created, `the ${component}'s role has CREATEDB: run \`bash scripts/stack.sh up\``).toBe(false);
  });

  afterAll(async () => {
    if (!admin) return;
    // node-pg-migrate does not await its client's end(): let those sessions go before dropping, or FORCE
    // would kill one mid-close and its client would raise an unhandled error.
    for (let i = 0; i < 50; i++) {
      const { rows } = await admin.query(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
        [name],
      );
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('apply to an empty database and roll back', async () => {
    expect(await tablesIn(url.href)).toEqual([]);

    const applied = await migrate(url.href, 'up');
    expect(applied.length).toBeGreaterThan(0);
    expect(await tablesIn(url.href)).toEqual(expect.arrayContaining([...APP_TABLES, 'pgmigrations']));

    const rolledBack = await migrate(url.href, 'down', applied.length);
    expect(rolledBack.sort()).toEqual([...applied].sort());
    expect(await tablesIn(url.href)).toEqual(['pgmigrations']);

    // A clean rollback leaves nothing behind that would stop the schema from being built again.
    expect(await migrate(url.href, 'up')).toEqual(applied);
    expect(await migrate(url.href, 'up')).toEqual([]);
  });
});

describe('audit_log on the stack database', () => {
  let db: Db;
  let owner: Db;
  let id: string;
  const orderId = `test-db-${randomUUID()}`;

  beforeAll(async () => {
    // The retention worker's role: it may append to the trail and read it (the gauges, the key rotation).
    db = createPool(databaseUrl('retention'), 2);
    // The schema owner (the migrations' role): its credential is the stack's, read here for the test only.
    owner = createPool(fixtureUrl(), 1);
    // INSERT is the one write the trail allows.
    const { rows } = await db.query<{ id: string }>(
      "INSERT INTO audit_log (order_id, event, actor, count) VALUES ($1, 'test', 'database.test', 1) RETURNING id",
      [orderId],
    );
    id = rows[0]!.id;
  });

  afterAll(async () => {
    await db?.end();
    await owner?.end();
  });

  it('accepts an INSERT', () => {
    expect(id).toMatch(/^\d+$/);
  });

  it.each([
    ['UPDATE', "UPDATE audit_log SET event = 'tampered' WHERE id = $1"],
    ['DELETE', 'DELETE FROM audit_log WHERE id = $1'],
    ['TRUNCATE', 'TRUNCATE audit_log'],
  ])("refuses the apps' role %s (no privilege)", async (_op, sql) => {
    await expect(db.query(sql, sql.includes('$1') ? [id] : [])).rejects.toMatchObject({
      code: '42501',
      message: expect.stringMatching(/permission denied/),
    });
  });

  it("refuses the apps' role switching off the triggers (not the owner)", async () => {
    await expect(db.query('ALTER TABLE audit_log DISABLE TRIGGER ALL')).rejects.toMatchObject({
      code: '42501',
      message: expect.stringMatching(/must be owner/),
    });
  });

  it.each([
    ['UPDATE', "UPDATE audit_log SET event = 'tampered' WHERE id = $1"],
    ['DELETE', 'DELETE FROM audit_log WHERE id = $1'],
    ['TRUNCATE', 'TRUNCATE audit_log'],
  ])('refuses even the schema owner %s (trigger)', async (op, sql) => {
    await expect(owner.query(sql, sql.includes('$1') ? [id] : [])).rejects.toMatchObject({
      code: '42501',
      message: expect.stringMatching(new RegExp(`append-only.*${op}`)),
    });
  });

  it('still holds the row, unchanged', async () => {
    const { rows } = await db.query('SELECT event, actor, count FROM audit_log WHERE order_id = $1', [
      orderId,
    ]);
    expect(rows).toEqual([{ event: 'test', actor: 'database.test', count: 1 }]);
  });
});
