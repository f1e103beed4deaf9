import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'out/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  { files: ['test/**', 'bench/**'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
  // Fastify's documented contract: a route handler (or plugin) that returns its answer is async, a sync one must call reply.send; many have nothing to await.
  { files: ['src/server/admin-api.ts', 'src/server/management-point.ts'], rules: { '@typescript-eslint/require-await': 'off' } },
  // winston's typings declare its transports as interfaces over TransportStream, so this rule cannot see that `new winston.transports.Console()` is one.
  { files: ['src/logging.ts'], rules: { '@typescript-eslint/no-unsafe-class-instance-assignment': 'off' } },
  // The few plain .js files (this config, simulator/bin.js, the mocha reporter) are not in tsconfig: lint them without type information.
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
