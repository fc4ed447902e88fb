// Bundles one fuzz target (fuzz/targets/NAME.ts) into .fuzz/NAME.mjs with every module under src/
// instrumented by istanbul, so fuzz/engine.ts can read branch and function counters after each
// input. The engine, the target file and node_modules stay uninstrumented.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, transform, type Plugin } from 'esbuild';
import { createInstrumenter } from 'istanbul-lib-instrument';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src') + '/';

function instrumentSrc(): Plugin {
  const instrumenter = createInstrumenter({ esModules: true, compact: true, produceSourceMap: false });
  return {
    name: 'istanbul-src',
    setup(b) {
      b.onLoad({ filter: /\/src\/.*\.ts$/ }, async (args) => {
        if (!args.path.startsWith(SRC)) return undefined;
        const ts = readFileSync(args.path, 'utf8');
        const js = await transform(ts, {
          loader: 'ts',
          format: 'esm',
          target: 'es2022',
          sourcefile: args.path,
        });
        return { contents: instrumenter.instrumentSync(js.code, args.path), loader: 'js' };
      });
    },
  };
}

/** Builds the instrumented bundle of `target` and returns its path. */
export async function buildTarget(target: string): Promise<string> {
  const out = join(ROOT, '.fuzz', `${target}.mjs`);
  mkdirSync(join(ROOT, '.fuzz'), { recursive: true });
  await build({
    entryPoints: [join(ROOT, 'fuzz', 'targets', `${target}.ts`)],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    plugins: [instrumentSrc()],
  });
  return out;
}
