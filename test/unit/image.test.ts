/**
 * The container image and what sits below Vault (issue "Least privilege below Vault", item 7), checked on
 * the files themselves: this machine has no Docker engine to build the image, nor a stack of its own to
 * rebuild. The build context holds no env file, key or local data (.dockerignore, read as Docker reads it);
 * the Dockerfile is multi-stage, installs the lock file's production dependencies only and runs as a user
 * other than root; every env file the local stack writes says it is the local stack (NODE_ENV=development);
 * the AppRoles' tokens carry their component's policy only, which still lets them renew and look up
 * themselves; and the apps' PostgreSQL role cannot create databases.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lib/config';

const read = (...parts: string[]) => readFileSync(path.join(repoRoot, ...parts), 'utf8');

// ---------------------------------------------------------------- .dockerignore, as Docker reads it

/**
 * One pattern as Docker's build-context filter reads it (moby/patternmatcher): `*` and `?` within a path
 * segment, `**` across any number of them, a leading `/` ignored.
 */
function patternRegex(pattern: string): RegExp {
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      i++;
      if (p[i + 1] === '/') {
        i++;
        out += '(?:.*/)?';
      } else {
        out += '.*';
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

const rules = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => ({ exclude: !l.startsWith('!'), regex: patternRegex(l.replace(/^!/, '')) }));

/** Whether a path (relative to the context) stays out of it: the last rule matching it or a parent wins. */
function ignored(file: string): boolean {
  const parts = file.split('/');
  const selfAndParents = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let out = false;
  for (const rule of rules) if (selfAndParents.some((p) => rule.regex.test(p))) out = rule.exclude;
  return out;
}

describe('.dockerignore', () => {
  it.each([
    '.env',
    '.env.local',
    '.env.production',
    '.env.example',
    'deploy/.env',
    'api/.env.staging',
    'server.key',
    'deploy/tls/server.key',
    'ca.pem',
    'certs/client.p12',
    '.data',
    '.data/env/api.env',
    '.data/secrets/pg-superuser-password',
    '.data/bao/init.json',
    '.data/tls/ca.crt',
    '.tools/venv/bin/bao',
    '.git',
    '.git/config',
    'node_modules',
    'node_modules/pg/package.json',
    'lib/node_modules/x.js',
    '.npmrc',
    'test/stack/vault.test.ts',
  ])('keeps %s out of the build context', (file) => {
    expect(ignored(file)).toBe(true);
  });

  it('lists the patterns themselves (the reading above is ours, not Docker’s)', () => {
    const lines = read('.dockerignore').split('\n');
    for (const pattern of ['.env', '.env.*', '*.pem', '*.key', '.data', '.tools', '.git', 'node_modules'])
      expect(lines, pattern).toContain(pattern);
    expect(
      lines.some((l) => l.startsWith('!')),
      'an exception lets something back in',
    ).toBe(false);
  });

  it('lets in everything the Dockerfile copies from the context', () => {
    const sources = dockerfile()
      .copies.filter((c) => !c.from)
      .flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(ignored(source), source).toBe(false);
      const entries = readdirSync(path.join(repoRoot, path.dirname(source)));
      expect(entries, `${source} does not exist`).toContain(path.basename(source));
    }
  });
});

// ---------------------------------------------------------------- Dockerfile

interface Stage {
  from: string;
  lines: string[];
}

function dockerfile() {
  const lines = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stages.push({ from: line, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  const final = stages.at(-1)!;
  const copies = final.lines
    .filter((l) => /^COPY\s/i.test(l))
    .map((l) => {
      const words = l.split(/\s+/).slice(1);
      const from = words.find((w) => w.startsWith('--from='));
      const args = words.filter((w) => !w.startsWith('--'));
      return { from, sources: args.slice(0, -1), line: l };
    });
  return { lines, stages, final, copies };
}

describe('Dockerfile', () => {
  const { lines, stages, final, copies } = dockerfile();

  it('builds in stages: the dependencies with `npm ci --omit=dev`, never `npm install`', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const installs = lines.filter((l) => /^RUN\s.*\bnpm\s+(ci|install|i)\b/i.test(l));
    expect(installs.length).toBeGreaterThan(0);
    for (const run of installs) {
      expect(run).toMatch(/\bnpm ci\b/);
      expect(run).toMatch(/--omit=dev\b/);
    }
    // The runtime stage installs nothing itself: it takes the dependencies stage's node_modules.
    expect(final.lines.some((l) => /\bnpm\b/.test(l))).toBe(false);
    expect(copies.some((c) => c.from && c.sources.includes('/app/node_modules'))).toBe(true);
  });

  it('copies named source folders, never the whole context', () => {
    for (const copy of copies) {
      expect(copy.sources, copy.line).not.toContain('.');
      expect(copy.sources, copy.line).not.toContain('./');
      for (const s of copy.sources) expect(s, copy.line).not.toMatch(/\*|^\.env|^\.data|^\.git/);
    }
    // Every layer the processes run (.dependency-cruiser.cjs) and the migrations.
    const copied = new Set(copies.filter((c) => !c.from).flatMap((c) => c.sources));
    for (const folder of [
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
      'migrations',
    ])
      expect(copied.has(folder), folder).toBe(true);
  });

  it('runs as a user other than root, in production mode unless told otherwise', () => {
    const users = final.lines.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    // The last USER comes after every RUN and COPY: nothing runs as root at start.
    const lastUser = final.lines.length - 1 - [...final.lines].reverse().findIndex((l) => /^USER\s/i.test(l));
    expect(final.lines.slice(lastUser).some((l) => /^(RUN|COPY|ADD)\s/i.test(l))).toBe(false);
    // docker-compose.yml's vault-init gives the AppRole files to this user's uid (the node image's node: 1000).
    expect(users.at(-1)).toBe('node');
    expect(final.lines).toContain('ENV NODE_ENV=production');
  });

  it('has what runs the code among the production dependencies (tsx, see the comment in the Dockerfile)', () => {
    const pkg = JSON.parse(read('package.json')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.dependencies.tsx).toBeDefined();
    expect(pkg.devDependencies.tsx).toBeUndefined();
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { dev?: boolean; dependencies?: Record<string, string> }>;
    };
    expect(lock.packages['node_modules/tsx']?.dev).toBeUndefined();
    for (const dep of Object.keys(lock.packages['node_modules/tsx']?.dependencies ?? {}))
      expect(lock.packages[`node_modules/${dep}`]?.dev, dep).toBeUndefined();
    // Each container's command: node with tsx's loader (no npx, which would reach for the registry).
    const compose = read('docker-compose.yml');
    const commands = [...compose.matchAll(/^\s*command: \["node", "--import", "tsx", "([^"]+)"/gm)];
    expect(commands.length).toBeGreaterThanOrEqual(6);
    for (const [, script] of commands) expect(copiesFolder(script!)).toBe(true);
    expect(final.lines.at(-1)).toMatch(/^CMD \["node", "--import", "tsx", /);
  });

  function copiesFolder(script: string): boolean {
    return copies.some((c) => !c.from && c.sources.includes(script.split('/')[0]!));
  }
});

// ---------------------------------------------------------------- below Vault: the stack's own scripts

describe('the local stack says it is the local stack', () => {
  const stack = read('scripts', 'stack.sh');
  const writeEnvs = stack.slice(stack.indexOf('write_envs() {'), stack.indexOf('\nmigrate() {'));

  it('writes NODE_ENV=development into every env file, and runs the migrations so', () => {
    expect(writeEnvs).toMatch(/^ {2}local mode=NODE_ENV=development$/m);
    const files = [...writeEnvs.matchAll(/^ {2}env_file ([a-z-]+) <<EOF\n([\s\S]*?)\nEOF$/gm)];
    expect(files.map((f) => f[1])).toEqual([
      'worker',
      'retention-worker',
      'api',
      'decryptor',
      'app-issuer',
      'provider-sandbox',
      'cli',
      'test',
    ]);
    for (const [, name, body] of files) expect(body!.split('\n'), name).toContain('$mode');
    expect(stack).toMatch(
      /NODE_ENV=\$\{NODE_ENV:-development\} MIGRATION_DATABASE_URL=\$owner_url npx tsx scripts\/migrate\.ts/,
    );
  });

  it('the test runners say test', () => {
    for (const file of ['vitest.config.mts', 'vitest.restart.config.ts', 'vitest.cluster.config.ts'])
      expect(read(file), file).toMatch(/^process\.env\.NODE_ENV \?\?= 'test';$/m);
  });
});

describe("the apps' identities", () => {
  it('AppRole tokens carry their policy only, not Vault’s default one', () => {
    const bootstrap = read('scripts', 'vault-bootstrap.sh');
    expect(bootstrap).toMatch(
      /auth\/approle\/role\/\$role" token_policies="\$role" token_no_default_policy=true /,
    );
    expect(bootstrap).not.toMatch(/token_no_default_policy=false/);
  });

  it.each(['worker', 'api', 'retention', 'cli'])(
    'the %s policy still lets its token renew and look up itself (lib/vault.ts, lib/ops-server.ts)',
    (component) => {
      const policy = read('scripts', 'vault-policies', `${component}.hcl`).replace(/#.*$/gm, '');
      const stanza = (p: string) =>
        new RegExp(`path "${p.replace(/[/.*]/g, '\\$&')}" \\{\\s*capabilities = \\[([^\\]]*)\\]\\s*\\}`).exec(
          policy,
        )?.[1];
      expect(stanza('auth/token/renew-self')).toBe('"update"');
      expect(stanza('auth/token/lookup-self')).toBe('"read"');
      // Nothing else of the token store, nor anything of sys/ or cubbyhole/.
      for (const [, p] of policy.matchAll(/path "([^"]+)"/g))
        expect(p, component).toMatch(/^(@MOUNT@\/|auth\/token\/(renew|lookup)-self$)/);
    },
  );

  it("the apps' PostgreSQL role cannot create databases, here or in docker-compose", () => {
    const stack = read('scripts', 'stack.sh');
    expect(stack).toContain("SELECT 'CREATE ROLE giftcards LOGIN' WHERE NOT EXISTS");
    // A cluster made before, whose role had CREATEDB, loses it at the next `up`.
    expect(stack).toMatch(/^ALTER ROLE giftcards NOCREATEDB NOCREATEROLE NOSUPERUSER PASSWORD/m);
    for (const text of [stack, read('deploy', 'postgres-init.sh')]) {
      for (const [statement] of text.matchAll(/CREATE ROLE giftcards(_owner)?\b[^;'\n]*/g))
        expect(statement).not.toMatch(/CREATEDB|CREATEROLE|SUPERUSER/);
    }
  });
});
