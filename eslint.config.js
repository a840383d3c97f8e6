import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Boundaries between parts (ARCHITECTURE.md): a part imports only the kube core, the custom
// resources' contract and the generated gRPC code, each through its index; only the command line
// imports parts; the contract imports nothing of the project but the kube core's object types;
// production code never imports test support. `kube/tls.ts` is a second entry point of the kube
// core: it loads the X.509 package, which most users of the core do not need.
// `client` is not a part that deploys but obeys the same rule: the manager's client reaches it over
// gRPC only, and no part imports the client.
const PARTS = ['devcluster', 'operator', 'monitor', 'manager', 'agent', 'dashboard', 'client'];
const SHARED = ['kube', 'api'];

function partRule(part) {
  const others = [...PARTS.filter((p) => p !== part), 'cli'];
  return {
    files: [`src/${part}/**/*.ts`],
    ignores: ['src/**/*.test.ts', 'src/**/testing.ts', 'src/**/*-testing.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: others.map((p) => `**/${p}/**`), message: `a part imports other parts only through Kubernetes objects, gRPC, HTTP or Prometheus, never their code` },
          ...SHARED.map((s) => ({ group: [`**/${s}/*`, `!**/${s}/index.ts`, ...(s === 'kube' ? ['!**/kube/tls.ts'] : [])], message: `import src/${s} through its index.ts` })),
          { group: ['**/testing.ts', '**/*-testing.ts', '**/test/**'], message: 'test support stays out of production code' },
        ],
      }],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'src/gen/', '.state/', 'coverage/', 'dist/', 'test-artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The devcluster's API server handles every kind as JSON it has not seen before (defaulting,
    // validation, patches, protobuf and table conversion of arbitrary objects): there `any` is the
    // honest type of the data, as `interface{}` is in the real server's unstructured code.
    files: ['src/devcluster/apiserver/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  ...PARTS.map(partRule),
  {
    // The dashboard's page runs in the browser: its globals, and nothing of Node.
    files: ['src/dashboard/web/**/*.ts'],
    languageOptions: {
      globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', EventSource: 'readonly', HTMLElement: 'readonly', HTMLDivElement: 'readonly', HTMLFormElement: 'readonly', HTMLInputElement: 'readonly', HTMLSelectElement: 'readonly', MessageEvent: 'readonly', Event: 'readonly', RequestInit: 'readonly', process: 'off', Buffer: 'off' },
    },
  },
  {
    files: ['src/kube/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/testing.ts', 'src/**/testing/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: [...PARTS, 'cli'].map((p) => `**/${p}/**`), message: 'the kube core depends on no part' }] }] },
  },
  {
    files: ['src/api/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: [...PARTS, 'cli', 'kube'].map((p) => `**/${p}/**`), allowTypeImports: true, message: 'the custom resources contract imports nothing of the project but types' }] }],
    },
  },
);
