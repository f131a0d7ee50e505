import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layers (docs/ARCHITECTURE.md): HTTP sits on top of the domain and is imported by nothing but
 * the composition root; the pipeline reaches the survey platform only through its interface;
 * vendor adapters know nothing of the pipeline that drives them.
 */
const layers = {
  'import-x/no-restricted-paths': [
    'error',
    {
      zones: [
        {
          target: './src',
          from: './src/http',
          except: [],
          message: 'Only src/http/ and the composition root (src/herald.ts) may import src/http/.',
        },
        {
          target: './src/!(http|herald.ts|demo|platforms)/**',
          from: './src/platforms',
          except: ['./experience-platform.ts'],
          message: 'Reach the survey platform through ExperiencePlatform (src/platforms/experience-platform.ts).',
        },
        {
          target: './src/vendors',
          from: './src/pipeline',
          message: 'Vendor adapters import no pipeline stage.',
        },
      ],
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'drizzle/', 'data/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Fastify handlers and hooks are async by contract even when they need not await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/herald.ts', 'src/http/**'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: layers,
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
