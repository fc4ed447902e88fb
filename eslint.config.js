// Flat config: typescript-eslint's recommended rules plus the import boundaries of docs/ARCHITECTURE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders under src/ and the src/ folders each may import (docs/ARCHITECTURE.md "Folders"). */
const allowed = {
  checksum: [],
  wire: ['checksum'],
  vnethdr: ['wire', 'checksum', 'mbuf'],
  tso: ['checksum', 'wire', 'vnethdr'],
  pcap: [],
  netmap: [],
  mbuf: [],
  host: ['netmap', 'tso', 'vnethdr', 'pcap', 'wire', 'checksum'],
  device: ['netmap', 'host'],
  driver: ['netmap', 'mbuf', 'vnethdr', 'wire', 'checksum', 'netif', 'device/interface'],
  stack: ['wire', 'checksum', 'vnethdr', 'tso', 'mbuf', 'netif'],
  netif: ['mbuf', 'vnethdr'],
  // The services a unikernel runs see only the socket API; the composition root that boots
  // device + driver + stack on a host port may import every layer.
  apps: ['stack'],
  unikernel: [
    'checksum',
    'wire',
    'vnethdr',
    'tso',
    'pcap',
    'netmap',
    'mbuf',
    'host',
    'device',
    'driver',
    'stack',
    'netif',
    'apps',
  ],
  cli: [
    'checksum',
    'wire',
    'vnethdr',
    'tso',
    'pcap',
    'netmap',
    'mbuf',
    'host',
    'device',
    'driver',
    'stack',
    'netif',
    'apps',
    'unikernel',
  ],
};
const all = Object.keys(allowed);

/** Import patterns a folder may not use: other folders, except the allowed ones or one allowed file. */
function forbidden(folder, ok) {
  return all
    .filter((f) => f !== folder && !ok.includes(f))
    .map((f) => {
      const file = ok.find((o) => o.startsWith(`${f}/`));
      const except = file === undefined ? '' : `(?!${file.slice(f.length + 1)}(\\.ts)?$)`;
      return {
        regex: `^(\\.\\./)+${f}(/${except}|$)`,
        message: `src/${folder} may import only ${ok.join(', ') || 'nothing'} (docs/ARCHITECTURE.md)`,
      };
    });
}

const boundaryConfigs = Object.entries(allowed).map(([folder, ok]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: { 'no-restricted-imports': ['error', { patterns: forbidden(folder, ok) }] },
}));

/**
 * Layers inside src/stack (docs/ARCHITECTURE.md "The stack's layers"): the link layer knows no
 * network layer, and IPv4 and IPv6 never reach into each other; each gets a narrow interface.
 */
const stackLayers = {
  link: ['ipv4', 'ipv6', 'tcp', 'udp', 'socket', 'stack'],
  ipv4: ['ipv6', 'tcp', 'udp', 'socket', 'stack'],
  ipv6: ['ipv4', 'tcp', 'udp', 'socket', 'stack'],
};
const stackOuter = forbidden('stack', allowed.stack).map((p) => ({
  ...p,
  regex: p.regex.replace('^(\\.\\./)+', '^(\\.\\./){2,}'),
}));
const stackLayerConfigs = Object.entries(stackLayers).map(([layer, no]) => ({
  files: [`src/stack/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...stackOuter,
          {
            regex: `^\\.\\./(${no.join('|')})(/|\\.ts$)`,
            message: `src/stack/${layer} may not import ${no.join(', ')} (docs/ARCHITECTURE.md)`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'api-docs/**',
      'bench/out/**',
      'bench/c/*.out',
      'coverage/**',
      '.fuzz/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        performance: 'readonly',
        WebAssembly: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  ...boundaryConfigs,
  ...stackLayerConfigs,
);
