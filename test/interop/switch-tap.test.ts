// Interop (root), issue 15: the Linux kernel sends a stream to the unikernel's discard service
// over a TAP while the unikernel's NIC is switched between inline and worker sync loops on that
// TAP (Unikernel.switchBackend) up to ten times, 50 ms apart. Every byte must arrive (SHA-256 against the kernel's),
// nothing may be reset, and the kernel's retransmissions during the run are reported.
import { spawn } from 'node:child_process';
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

const skip = skipPrivileged('interop (backend switch over TAP)', ['ip', 'python3']);
const CHILD = new URL('./uk-switch.ts', import.meta.url).pathname;

/** TcpRetransSegs of the namespace's kernel (/proc/net/snmp). */
async function kernelRetrans(ns: string): Promise<number> {
  const r = await nsRun(ns, 'cat', ['/proc/net/snmp']);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('RetransSegs')]);
}

describe.skipIf(skip)('backend switch under a kernel TCP stream over TAP', () => {
  const ns = `${NS_PREFIX}switch-${process.pid}`;
  beforeAll(() => {
    removeLeftovers();
    createNamespace(ns);
  });
  afterAll(() => destroyNamespace(ns));

  it('inline ⇄ worker switches (up to ten) during the stream: intact, no reset, outages and kernel retransmissions reported', async () => {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', CHILD, TAP, `${UK_ADDR}/24`, '10', '50'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const lines: string[] = [];
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => {
        lines.push(l);
        if (l === 'ready') resolve();
      });
      child.on('exit', (c) => reject(new Error(`child exited ${c}: ${stderr}`)));
    });
    const done = new Promise<number | null>((r) => child.on('exit', r));
    await ready;
    const before = await kernelRetrans(ns);
    const bytes = 128 * 1024 * 1024;
    const s = await nsRun(ns, 'python3', ['-c', KERNEL_SENDER, UK_ADDR, '9', String(bytes), 'fin'], 120_000);
    expect(s.code, s.stderr).toBe(0);
    const sent = JSON.parse(s.stdout) as { sent: number; sha256: string };
    expect(await done, stderr).toBe(0);
    const after = await kernelRetrans(ns);
    const got = JSON.parse(lines.find((l) => l.startsWith('{'))!) as {
      bytes: number;
      sha256: string;
      outagesMs: number[];
      txDrained: boolean;
      resets: number;
      outRsts: number;
    };
    console.log(
      `[switch over TAP] ${got.outagesMs.length} switches, outages ms: ${got.outagesMs.join(' ')}; kernel RetransSegs +${after - before}; RSTs sent ${got.outRsts}`,
    );
    expect(got.bytes).toBe(sent.sent);
    expect(got.sha256).toBe(sent.sha256);
    expect(got.resets).toBe(0);
    expect(got.txDrained).toBe(true);
    expect(got.outagesMs.length).toBeGreaterThanOrEqual(3);
  }, 180_000);
});
