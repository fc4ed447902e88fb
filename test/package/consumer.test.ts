// The package as a user gets it: `npm pack`, installed from the tarball into a temporary project
// (its dependencies from the registry, or npm's cache), then
// (a) plain Node ESM importing the root and subpaths, booting two unikernels and pinging, and the
//     `ptnet-ts` command running from dist/ with no tsx installed;
// (b) `tsc --noEmit` of a strict consumer (nodenext, exactOptionalPropertyTypes, no skipLibCheck);
// (c) an esbuild bundle that boots a unikernel with its sync loop in a worker thread, run from a
//     folder with no node_modules at all;
// and every program of examples/, as a user who copied it would run it.
// Slow (a pack, an install, a build): about a minute.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const FILES = new URL('./consumer/', import.meta.url).pathname;
const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const bin = (name: string): string => join(ROOT, 'node_modules/.bin', name);

/** The environment a user's shell would have: no npm-run variables, no switch to the TS sources. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('npm_') && k !== 'PTNET_TS_SOURCES' && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return env;
}

let tmp = '';
let app = '';
let tarball = '';
let packedFiles: string[] = [];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ptnet-consumer-'));
  const env = userEnv();
  // npm pack runs `prepare`: dist/ is built from the sources first.
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const info = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, info[0]!.filename);
  packedFiles = info[0]!.files.map((f) => f.path);
  app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
    cwd: app,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  for (const f of readdirSync(FILES)) cpSync(join(FILES, f), join(app, f));
  cpSync(EXAMPLES, join(app, 'examples'), { recursive: true });
}, 300_000);

afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships dist/, the command, LICENSE and README, and nothing of test/, bench/, fixtures/ or .ci/', () => {
    for (const f of [
      'LICENSE',
      'README.md',
      'package.json',
      'bin/ptnet-ts.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.js.map',
      'dist/host/kloop-worker.js',
      'dist/host/tap-port-waiter.mjs',
      'dist/pcap/index.d.ts',
    ])
      expect(packedFiles).toContain(f);
    expect(packedFiles.filter((f) => /^(test|bench|fixtures|\.ci|scripts)\//.test(f))).toEqual([]);
  });

  it('installs without tsx (a devDependency only)', () => {
    expect(existsSync(join(app, 'node_modules/ptnet-ts/dist/index.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
  });
});

describe('(a) plain Node ESM', () => {
  it.each(['worker', 'inline'])(
    'imports the root and subpaths, boots two unikernels (%s), pings, exits',
    (mode) => {
      const r = spawnSync(process.execPath, ['app.mjs', mode], {
        cwd: app,
        env: userEnv(),
        encoding: 'utf8',
        timeout: 60_000,
        killSignal: 'SIGKILL',
      });
      expect(r.stderr).toBe('');
      expect(r.signal).toBeNull();
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(out.rtt).toBeGreaterThanOrEqual(0);
      expect(out.rx).toBeGreaterThan(0);
      expect(out.csum).toBe(0x0406); // big-endian words 0x0102 + 0x0304
      expect(out.pcap).toBe('function');
      expect(out.wireError).toBe('function');
    },
  );

  it('runs the ptnet-ts command from dist/', () => {
    const r = spawnSync(join(app, 'node_modules/.bin/ptnet-ts'), ['demo', '--seconds', '1', '--json'], {
      cwd: app,
      env: userEnv(),
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
  });
});

describe('(b) a strict TypeScript consumer', () => {
  it('type-checks with nodenext, strict, exactOptionalPropertyTypes and no skipLibCheck', () => {
    // @types/node from this repository (the consumer would install its own).
    const tsconfig = join(app, 'tsconfig.json');
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        tsconfig,
        '--typeRoots',
        join(ROOT, 'node_modules/@types'),
      ],
      { cwd: app, env: userEnv(), encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('(c) an esbuild bundle', () => {
  it('boots a unikernel with a worker sync loop from a bundle with no node_modules beside it', () => {
    const out = join(tmp, 'bundle-build');
    // The app and the package's kloop worker entry, bundled side by side: the bundled kloop finds
    // kloop-worker.js next to the bundle. debug is CommonJS: the ESM bundle gets a `require`.
    execFileSync(
      bin('esbuild'),
      [
        'bundle-app=bundle-app.mjs',
        'kloop-worker=ptnet-ts/kloop-worker',
        '--bundle',
        '--platform=node',
        '--format=esm',
        '--target=node20',
        `--outdir=${out}`,
        "--banner:js=import { createRequire as __ptnetCreateRequire } from 'node:module'; const require = __ptnetCreateRequire(import.meta.url);",
        '--log-level=warning',
      ],
      { cwd: app, env: userEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // Run it where no node_modules can be found (ESM .js files: a package.json says so).
    const run = join(tmp, 'bundle-run');
    mkdirSync(run);
    for (const f of ['bundle-app.js', 'kloop-worker.js']) cpSync(join(out, f), join(run, f));
    writeFileSync(join(run, 'package.json'), JSON.stringify({ type: 'module' }));
    const r = spawnSync(process.execPath, ['bundle-app.js'], {
      cwd: run,
      env: userEnv(),
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    const res = JSON.parse(r.stdout) as { rtt: number; mode: string; runs: number };
    expect(res.mode).toBe('worker');
    expect(res.rtt).toBeGreaterThanOrEqual(0);
    expect(res.runs).toBeGreaterThan(0);
  });
});

describe('examples/', () => {
  function run(file: string, ...args: string[]): Record<string, unknown> {
    const r = spawnSync(process.execPath, [join('examples', file), ...args], {
      cwd: app,
      env: userEnv(),
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull(); // ended on its own
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  it('http.mjs: node:http server and client over ptnet sockets', () => {
    expect(run('http.mjs')).toEqual({ status: 200, body: 'hello from 10.0.0.1, you asked for /greeting\n' });
  });

  it('pcap-offload.mjs: a TSO super-frame from a pcapng, segmented, every checksum right', () => {
    expect(run('pcap-offload.mjs')).toEqual({
      frames: 1,
      segments: 5, // ceil(6000 / 1448)
      payload: 6000,
      ipv4Good: 5,
      tcpGood: 5,
      comment: 'vnet flags=0x01 gso_type=0x01 hdr_len=54 gso_size=1448 csum_start=34 csum_offset=16',
    });
  });

  it.each(['inline', 'worker'])('pkt-gen.mjs (%s): every frame sent is received', (mode) => {
    const r = run('pkt-gen.mjs', mode) as { mode: string; tx: { packets: number }; rx: { packets: number } };
    expect(r.mode).toBe(mode);
    expect(r.tx.packets).toBeGreaterThan(0);
    expect(r.rx.packets).toBe(r.tx.packets); // a pipe pushes back: nothing is dropped
  });
});
