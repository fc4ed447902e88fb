// Interop (root), issue 15: live migration across processes over a persistent TAP. The Linux
// kernel streams to a unikernel in child process A; A freezes mid-stream, writes its snapshot and
// exits (the TAP stays, TUNSETPERSIST); child B, started beforehand and waiting, opens the same
// TAP, restores and takes the stream over. Every byte arrives (SHA-256 of what A and B wrote
// against the kernel's), nothing is reset; the outage and the kernel's RetransSegs are printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipPrivileged } from '../support/privileged.ts';
import {
  KERNEL_SENDER,
  NS_PREFIX,
  TAP,
  UK_ADDR,
  createNamespace,
  destroyNamespace,
  nsRun,
  removeLeftovers,
} from './lib.ts';

const skip = skipPrivileged('interop (live migration over TAP)', ['ip', 'python3']);
const CHILD = new URL('./uk-migrate.ts', import.meta.url).pathname;

/** TcpRetransSegs of the namespace's kernel (/proc/net/snmp). */
async function kernelRetrans(ns: string): Promise<number> {
  const r = await nsRun(ns, 'cat', ['/proc/net/snmp']);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('RetransSegs')]);
}

interface Child {
  proc: ChildProcess;
  lines: string[];
  stderr: () => string;
  line: (re: RegExp) => Promise<string>;
  exit: Promise<number | null>;
}

function child(ns: string, args: string[]): Child {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', CHILD, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const lines: string[] = [];
  const waiters: [RegExp, (l: string) => void][] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const [re, r] of waiters) if (re.test(l)) r(l);
  });
  const exit = new Promise<number | null>((r) => proc.on('exit', r));
  const line = (re: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return resolve(seen);
      waiters.push([re, resolve]);
      void exit.then((c) => reject(new Error(`child exited ${c} before ${re}: ${err}`)));
    });
  return { proc, lines, stderr: () => err, line, exit };
}

describe.skipIf(skip)('live migration between processes over a TAP', () => {
  const ns = `${NS_PREFIX}migrate-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'ptnet-migrate-'));
  beforeAll(() => {
    removeLeftovers();
    createNamespace(ns);
  });
  afterAll(() => {
    destroyNamespace(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  it('A freezes mid-stream and exits, B restores on the same TAP: the kernel stream completes intact, no reset', async () => {
    const out = join(dir, 'stream');
    const bytes = 64 * 1024 * 1024;
    const b = child(ns, ['restore', TAP, `${UK_ADDR}/24`, out]);
    const a = child(ns, ['freeze', TAP, `${UK_ADDR}/24`, out, String(bytes / 4)]);
    await a.line(/^ready$/);
    const before = await kernelRetrans(ns);
    const sender = nsRun(ns, 'python3', ['-c', KERNEL_SENDER, UK_ADDR, '9', String(bytes), 'fin'], 120_000);
    await a.line(/^frozen$/);
    expect(await a.exit, a.stderr()).toBe(0);
    b.proc.stdin!.write('go\n');
    const s = await sender;
    expect(s.code, s.stderr).toBe(0);
    const sent = JSON.parse(s.stdout) as { sent: number; sha256: string };
    const report = JSON.parse(await b.line(/^\{/)) as {
      outageMs: number;
      restoredAt: number;
      resets: number;
    };
    expect(await b.exit, b.stderr()).toBe(0);
    const after = await kernelRetrans(ns);
    const data = readFileSync(out);
    console.log(
      `[migrate over TAP] outage ${report.outageMs} ms (freeze to restored NIC, across processes); kernel RetransSegs +${after - before}`,
    );
    expect(data.length).toBe(sent.sent);
    expect(createHash('sha256').update(data).digest('hex')).toBe(sent.sha256);
    expect(report.resets).toBe(0);
  }, 120_000);
});
