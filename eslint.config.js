// Flat config: typescript-eslint's recommended rules plus the import boundaries of ARCHITECTURE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders under src/ and the src/ folders each may import (ARCHITECTURE.md "Folders"). */
const allowed = {
  checksum: [],
  wire: ['checksum'],
  vnethdr: ['wire', 'checksum'],
  tso: ['checksum', 'wire', 'vnethdr'],
  pcap: [],
  netmap: [],
  mbuf: [],
  host: ['netmap', 'tso', 'vnethdr', 'pcap', 'wire', 'checksum'],
  device: ['netmap', 'host'],
  driver: ['netmap', 'mbuf', 'vnethdr', 'wire', 'checksum', 'device/regs'],
  stack: ['wire', 'checksum', 'vnethdr', 'tso', 'mbuf', 'netif'],
  netif: ['mbuf', 'vnethdr'],
};
const all = Object.keys(allowed);

const boundaryConfigs = Object.entries(allowed).map(([folder, ok]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: all
          .filter((f) => f !== folder && !ok.includes(f) && !ok.some((o) => o.startsWith(`${f}/`)))
          .map((f) => ({ group: [`../${f}`, `../${f}/*`, `../../${f}/*`], message: `src/${folder} may not import src/${f} (ARCHITECTURE.md)` })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'bench/out/**', 'bench/c/*.out', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', performance: 'readonly', WebAssembly: 'readonly', SharedArrayBuffer: 'readonly', Atomics: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  ...boundaryConfigs,
);
