/**
 * The tests' own database connections. Every component connects with its own role (databaseUrl), which
 * cannot write a link, delete a card or rewrite the audit trail: the fixtures that seed links or tidy up
 * connect as the schema's owner (scripts/bench/fixtures.ts, the one fixture module).
 */
export { fixturePool, fixtureUrl, stackRoleUrl } from '../../scripts/bench/fixtures';
