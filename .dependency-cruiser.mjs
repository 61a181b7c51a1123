/**
 * Layer rules of src/: core at the bottom, then store, web and
 * observability, then the features, and the composition root (app/) on top. Type-only
 * imports count like any other import. `npm run lint` runs this.
 * @type {import('dependency-cruiser').IConfiguration}
 */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-imports-core-and-log-ports',
      severity: 'error',
      comment:
        'core/ imports only core/ and the observability ports (logger, tracing, outcomes, refusal-log, redact).',
      from: { path: '^src/core/' },
      to: {
        path: '^src/',
        pathNot: [
          '^src/core/',
          '^src/observability/(logger|tracing|outcomes|refusal-log|redact)\\.ts$',
        ],
      },
    },
    {
      name: 'core-without-database-or-http-framework',
      severity: 'error',
      comment: 'core/ holds the rules: the database clients and Express stay in store/, web/ and above.',
      from: { path: '^src/core/' },
      to: { path: '^node_modules/(express|knex|knex-pglite|pg|@electric-sql/pglite)/' },
    },
    {
      name: 'store-imports-core-observability-store',
      severity: 'error',
      comment: 'store/ imports core/, observability/ and store/ only.',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: ['^src/(core|observability|store)/'] },
    },
    {
      name: 'web-below-features',
      severity: 'error',
      comment: 'web/ imports core/, store/, observability/ and web/ only: never features/ or app/.',
      from: { path: '^src/web/' },
      to: { path: '^src/', pathNot: ['^src/(core|store|observability|web)/'] },
    },
    {
      name: 'observability-imports-core-observability',
      severity: 'error',
      comment: 'observability/ imports core/ and observability/ only (no features, no login services).',
      from: { path: '^src/observability/' },
      to: { path: '^src/', pathNot: ['^src/(core|observability)/'] },
    },
    {
      name: 'no-cross-feature',
      severity: 'error',
      comment: 'A feature never imports another feature: shared code goes down a layer.',
      from: { path: '^src/features/([^/]+)/' },
      to: { path: '^src/features/', pathNot: ['^src/features/$1/'] },
    },
    {
      name: 'only-app-imports-app',
      severity: 'error',
      comment: 'app/ is the composition root: nothing outside it imports it.',
      from: { path: '^src/', pathNot: ['^src/app/'] },
      to: { path: '^src/app/' },
    },
    {
      name: 'src-self-contained',
      severity: 'error',
      comment: 'src/ never imports test/, bench/, demo/ or scripts/.',
      from: { path: '^src/' },
      to: { path: '^(test|bench|demo|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)static/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs'],
    },
    cache: false,
  },
};
