/**
 * The project's layers, checked by `npm run check:deps` (part of `npm test`). Dependencies point one way:
 *
 *   contracts  ←  lib  ←  store  ←  domain  ←  workflows, activities  ←  api, decryptor, workers, scripts
 *
 * contracts: what an order and the retention sweep are (types, statuses, signals, ids), no I/O;
 * lib: shared infrastructure (config, logging, database, Vault, the payload codec, Temporal connections);
 * store: one module per aggregate, the only place its tables are read or written (test/unit/store.test.ts);
 * domain: the provider adapter, mail, cards, starting orders; workflows run in Temporal's sandbox and see
 * only contracts; activities do the side effects; api, decryptor, workers and scripts are the processes
 * (the decryptor, the only one that decrypts cards, sees neither the API nor the workers, nor they it).
 */
const layer = (name, mayUse, except) => ({
  name: `${name.replace(/\//g, '-')}-layer`,
  comment: `${name}/ may depend only on ${mayUse.join(', ') || 'itself'}`,
  severity: 'error',
  from: except ? { path: `^${name}/`, pathNot: `^${except}/` } : { path: `^${name}/` },
  to: {
    path: '^(contracts|lib|store|domain|workflows|activities|api|decryptor|workers|scripts|provider-sandbox|identity-provider|test)/',
    pathNot: `^(${[name, ...mayUse].join('|')})/`,
  },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one: neither can be read, tested or changed alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-dev-dependency-at-run-time',
      comment:
        'The image installs the production dependencies only (Dockerfile: npm ci --omit=dev): code the ' +
        'processes run must not import a devDependency (types excepted: they are gone at run time).',
      severity: 'error',
      from: {
        path: '^(contracts|lib|store|domain|workflows|activities|api|decryptor|workers|scripts|provider-sandbox|identity-provider)/',
      },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    layer('contracts', []),
    layer('lib', ['contracts']),
    layer('store', ['contracts', 'lib']),
    layer('domain', ['contracts', 'lib', 'store']),
    layer('workflows', ['contracts']),
    layer('activities', ['contracts', 'lib', 'store', 'domain']),
    layer('api', ['contracts', 'lib', 'store', 'domain']),
    layer('decryptor', ['contracts', 'lib', 'store', 'domain']),
    layer('workers', ['contracts', 'lib', 'store', 'domain', 'activities', 'workflows']),
    layer('scripts', ['contracts', 'lib', 'store', 'domain', 'activities', 'workers'], 'scripts/bench'),
    // Benchmarks may start the API in-process (bench:flood measures its event loop under a flood).
    layer('scripts/bench', [
      'scripts',
      'contracts',
      'lib',
      'store',
      'domain',
      'activities',
      'workers',
      'api',
      'decryptor',
    ]),
    layer('provider-sandbox', ['lib']),
    layer('identity-provider', ['contracts', 'lib']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules is not followed, but kept in the graph: the rule on devDependencies needs to see them.
    exclude: { path: '(^|/)(\\.data|\\.tools)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
