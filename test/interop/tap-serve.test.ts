// Interop with the Linux kernel's stack (root): `ptnet-ts tap-serve` runs in a network namespace
// behind a vnet_hdr TAP and the kernel is the client over IPv4 and IPv6 — ping, curl, bulk TCP into discard and echo
// (SHA-256 both ways), UDP echo, connections closed and reset by the kernel — and the reverse, the
// unikernel downloading from `python3 -m http.server`. Offloads on (TSO/checksum both ways) and off
// (`ethtool -K` on the TAP, software checksums and segments in the unikernel).
//
// PTNET_INTEROP_MIB sets the bulk size per direction and family (default 128 MiB: the file runs in
// ~30 s on this 2-core machine; the 256 MiB takes ~40 s).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillPattern } from '../../src/apps/index.ts';
import { skipPrivileged } from '../support/privileged.ts';
import {
  KERNEL_ADDR,
  KERNEL_HTTP_ABORT,
  KERNEL_SENDER,
  KERNEL_UDP,
  NS_PREFIX,
  TAP,
  TapServe,
  UK_ADDR,
  UK_ADDR6,
  KERNEL_ADDR6,
  createNamespace,
  destroyNamespace,
  nsRun,
  removeLeftovers,
} from './lib.ts';

const skip = skipPrivileged('interop (tap-serve)', ['ip', 'ping', 'curl', 'python3', 'ethtool']);
const BULK = Number(process.env.PTNET_INTEROP_MIB ?? 128) * 1048576;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const FAMILIES = [
  { family: 'IPv4', uk: UK_ADDR, kernel: KERNEL_ADDR },
  { family: 'IPv6', uk: UK_ADDR6, kernel: KERNEL_ADDR6 },
];
/** URL host and tap-serve's "addr:port" spelling: IPv6 in brackets. */
const host = (a: string): string => (a.includes(':') ? `[${a}]` : a);
const endpoint = (a: string, port: number): string => `${host(a)}:${port}`;
const esc = (t: string): string => t.replace(/[[\].]/g, '\\$&');

interface SenderResult {
  sent: number;
  sha256: string;
  received: number;
  rxSha256: string;
  port: number;
}

describe.skipIf(skip).each([
  { mode: 'worker', offloads: true },
  { mode: 'inline', offloads: false },
])('kernel ⇄ unikernel over a TAP ($mode sync loop, offloads $offloads)', ({ mode, offloads }) => {
  const ns = `${NS_PREFIX}${mode}-${process.pid}`;
  let srv: TapServe;

  beforeAll(async () => {
    removeLeftovers();
    createNamespace(ns);
    srv = new TapServe(ns, ['--mode', mode, ...(offloads ? [] : ['--no-offloads'])]);
    const ready = await srv.waitFor(/ready/);
    expect(ready).toContain(`offloads ${offloads ? 'on' : 'off'}`);
    // After the open: the TAP port's TUNSETOFFLOAD set the features ethtool now takes away.
    if (!offloads) {
      const r = await nsRun(ns, 'ethtool', ['-K', TAP, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
      expect(r.code, r.stderr).toBe(0);
    }
    const k = await nsRun(ns, 'ethtool', ['-k', TAP]);
    expect(k.stdout).toMatch(new RegExp(`tcp-segmentation-offload: ${offloads ? 'on' : 'off'}`));
  }, 60_000);

  afterAll(async () => {
    if (srv !== undefined && srv.pid !== undefined) await srv.stop('SIGKILL').catch(() => {});
    destroyNamespace(ns);
  });

  it.each(FAMILIES)('answers ping over $family', async ({ family, uk }) => {
    const cmd = family === 'IPv6' ? ['-6'] : [];
    const r = await nsRun(ns, 'ping', [...cmd, '-c', '3', '-i', '0.2', '-W', '2', uk]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 packets transmitted, 3 received/);
    // Largest unfragmented echo: 1500 - IP header - ICMP header.
    const size = family === 'IPv6' ? '1452' : '1472';
    const big = await nsRun(ns, 'ping', [...cmd, '-c', '2', '-i', '0.2', '-W', '2', '-s', size, uk]);
    expect(big.stdout).toMatch(/2 received/);
  });

  it.each(FAMILIES)('serves curl over $family: /bytes/10000000 intact', async ({ uk }) => {
    const bytes = await nsRun(ns, 'sh', [
      '-c',
      `d=$(mktemp -d) && curl -gsS -m 60 -D $d/h -o $d/b http://${host(uk)}/bytes/10000000 && sha256sum < $d/b && cat $d/h; rm -rf $d`,
    ]);
    expect(bytes.code, bytes.stderr).toBe(0);
    expect(bytes.stdout).toMatch(/Content-Length: 10000000/i);
    expect(bytes.stdout.split(' ')[0]).toBe(sha(fillPattern(new Uint8Array(10_000_000))));
  });

  it('serves curl the page, keeps the connection alive, answers 404', async () => {
    const page = await nsRun(ns, 'curl', ['-sS', '-m', '20', `http://${UK_ADDR}/`]);
    expect(page.code, page.stderr).toBe(0);
    expect(page.stdout).toContain('<h1>ptnet-ts</h1>');
    // Keep-alive: curl reuses one connection for two URLs.
    const two = await nsRun(ns, 'curl', [
      '-sS',
      '-m',
      '20',
      '-o',
      '/dev/null',
      '-o',
      '/dev/null',
      '-w',
      '%{num_connects}\\n',
      `http://${UK_ADDR}/bytes/5`,
      `http://${UK_ADDR}/`,
    ]);
    expect(two.stdout.trim().split('\n')).toEqual(['1', '0']);
    const missing = await nsRun(ns, 'curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `http://${UK_ADDR}/nope`,
    ]);
    expect(missing.stdout).toBe('404');
  });

  it.each(FAMILIES)(
    `takes ${BULK / 1048576} MiB from a kernel sender into discard over $family, the SHA-256 matching`,
    async ({ uk, kernel }) => {
      const r = await nsRun(ns, 'python3', ['-c', KERNEL_SENDER, uk, '9', String(BULK), 'fin'], 120_000);
      expect(r.code, r.stderr).toBe(0);
      const k = JSON.parse(r.stdout) as SenderResult;
      expect(k.sent).toBe(BULK);
      const line = await srv.waitFor(new RegExp(`^discard ${esc(endpoint(kernel, k.port))} closed`));
      expect(line).toContain(`bytes=${BULK} sha256=${k.sha256}`);
      expect(line).not.toContain('error=');
    },
    120_000,
  );

  it.each(FAMILIES)(
    `echoes ${BULK / 1048576} MiB back to a kernel sender over $family, the SHA-256 matching both ways`,
    async ({ uk, kernel }) => {
      const r = await nsRun(ns, 'python3', ['-c', KERNEL_SENDER, uk, '7', String(BULK), 'fin'], 120_000);
      expect(r.code, r.stderr).toBe(0);
      const k = JSON.parse(r.stdout) as SenderResult;
      expect(k.received).toBe(BULK);
      expect(k.rxSha256).toBe(k.sha256);
      const line = await srv.waitFor(new RegExp(`^echo ${esc(endpoint(kernel, k.port))} closed`));
      expect(line).toContain(`bytes=${BULK} sent=${BULK}`);
    },
    120_000,
  );

  it.each(FAMILIES)('echoes UDP datagrams up to the MTU over $family', async ({ family, uk }) => {
    const max = family === 'IPv6' ? '1452' : '1472';
    const r = await nsRun(ns, 'python3', ['-c', KERNEL_UDP, uk, '1', '100', max]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([1, 100, Number(max)]);
  });

  it('sees the kernel reset connections and keeps serving', async () => {
    const r = await nsRun(ns, 'python3', ['-c', KERNEL_SENDER, UK_ADDR, '9', '1000000', 'rst']);
    expect(r.code, r.stderr).toBe(0);
    const k = JSON.parse(r.stdout) as SenderResult;
    const line = await srv.waitFor(new RegExp(`^discard ${KERNEL_ADDR}:${k.port} closed`));
    expect(line).toContain('error=ECONNRESET');
    // A download the kernel abandons with unread data (close → RST): logged with what went out.
    const a = await nsRun(ns, 'python3', ['-c', KERNEL_HTTP_ABORT, UK_ADDR]);
    expect(a.code, a.stderr).toBe(0);
    const h = await srv.waitFor(/^http \S+ GET \/bytes\/100000000 200 bytes=/);
    expect(Number(/bytes=(\d+)/.exec(h)![1])).toBeLessThan(100_000_000);
    // A closed port answers with RST: curl sees "connection refused" (exit 7) at once.
    const refused = await nsRun(ns, 'curl', ['-sS', '-m', '5', `http://${UK_ADDR}:81/`]);
    expect(refused.code).toBe(7);
    const page = await nsRun(ns, 'curl', ['-sS', '-m', '10', `http://${UK_ADDR}/`]);
    expect(page.stdout).toContain('ptnet-ts');
  });

  it('stops on SIGTERM with exit 0, then downloads from a kernel HTTP server intact', async () => {
    expect(await srv.stop('SIGTERM')).toBe(0);
    expect(srv.lines.at(-1)).toMatch(/^stopped \(SIGTERM\): .* drops 0/);
    const dir = mkdtempSync(join(tmpdir(), 'ptnet-interop-'));
    const file = randomBytes(20_000_000);
    writeFileSync(join(dir, 'file.bin'), file);
    // ip netns exec and timeout exec in turn: the pid is timeout's, which passes SIGTERM on.
    const http = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'timeout',
        '80',
        'python3',
        '-m',
        'http.server',
        '8000',
        '--bind',
        '::',
        '--directory',
        dir,
      ],
      { stdio: 'ignore' },
    );
    try {
      let up = false;
      for (let i = 0; i < 50 && !up; i++) {
        const r = await nsRun(ns, 'curl', ['-s', '-o', '/dev/null', `http://${KERNEL_ADDR}:8000/`]);
        up = r.code === 0;
        if (!up) await new Promise((res) => setTimeout(res, 100));
      }
      expect(up).toBe(true);
      // One client run per family against the dual-stack server.
      for (const kernel of [KERNEL_ADDR, KERNEL_ADDR6]) {
        const url = `http://${endpoint(kernel, 8000)}/file.bin`;
        const client = new TapServe(ns, [
          '--mode',
          mode,
          '--fetch',
          url,
          ...(offloads ? [] : ['--no-offloads']),
        ]);
        try {
          const line = await client.waitFor(/^fetch /, 60_000);
          expect(line).toContain(`fetch ${url} status=200 bytes=${file.length} sha256=${sha(file)}`);
        } finally {
          expect(await client.stop('SIGINT')).toBe(0);
        }
      }
    } finally {
      http.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
