// Interop (root): Linux pings `ptnet-ts tap-serve` with echoes larger than the MTU (`ping -s 4000`
// and `-s 30000`, IPv4 and IPv6). The unikernel reassembles the request and answers with a
// fragmented reply the kernel reassembles; ping checks every data byte it gets back. Then the
// other way: the unikernel's own ping utility (Stack.ping) to the kernel with the same sizes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipPrivileged } from '../support/privileged.ts';
import {
  KERNEL_ADDR,
  KERNEL_ADDR6,
  NS_PREFIX,
  TAP,
  TapServe,
  UK_ADDR,
  UK_ADDR6,
  createNamespace,
  destroyNamespace,
  nsRun,
  removeLeftovers,
} from './lib.ts';

const skip = skipPrivileged('interop (large ping)', ['ip', 'ping']);

describe.skipIf(skip)('kernel pings the unikernel past the MTU', () => {
  const ns = `${NS_PREFIX}ping-${process.pid}`;
  let srv: TapServe;

  beforeAll(async () => {
    removeLeftovers();
    createNamespace(ns);
    srv = new TapServe(ns, ['--mode', 'inline']);
    await srv.waitFor(/ready/);
  }, 60_000);

  afterAll(async () => {
    if (srv !== undefined && srv.pid !== undefined) await srv.stop('SIGKILL').catch(() => {});
    destroyNamespace(ns);
  });

  it.each([
    { family: 'IPv4', uk: UK_ADDR, size: 4000 },
    { family: 'IPv4', uk: UK_ADDR, size: 30000 },
    { family: 'IPv6', uk: UK_ADDR6, size: 4000 },
    { family: 'IPv6', uk: UK_ADDR6, size: 30000 },
  ])(
    'ping $family -s $size: both replies come back whole',
    async ({ family, uk, size }) => {
      const fam = family === 'IPv6' ? ['-6'] : [];
      const r = await nsRun(ns, 'ping', [...fam, '-c', '2', '-i', '0.3', '-W', '3', '-s', String(size), uk]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/2 packets transmitted, 2 received/);
      // The echoed size, and no byte that differs from what was sent (iputils reports both).
      expect(r.stdout).toContain(`${size + 8} bytes from ${uk}`);
      expect(r.stdout).not.toMatch(/wrong data|DUP!|truncated/);
    },
    30_000,
  );
});

describe.skipIf(skip)('the unikernel pings the kernel past the MTU (Stack.ping)', () => {
  const ns = `${NS_PREFIX}ukping-${process.pid}`;
  beforeAll(() => {
    removeLeftovers();
    createNamespace(ns);
  });
  afterAll(() => destroyNamespace(ns));

  it('sizes 56, 4000 and 30000 over IPv4 and IPv6 all answered', async () => {
    const script = new URL('./uk-ping.ts', import.meta.url).pathname;
    const sizes = ['56', '4000', '30000'];
    const r = await nsRun(ns, process.execPath, [
      '--import',
      'tsx',
      script,
      TAP,
      `${UK_ADDR}/24`,
      `${UK_ADDR6}/64`,
      KERNEL_ADDR,
      KERNEL_ADDR6,
      ...sizes,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      out: [string, number, boolean][];
      drops: number;
      driver: { rxPackets: number; rxBorrowed: number; rxCopied: number; txCopied: number };
      concurrentPeer: boolean;
    };
    expect(j.out).toEqual(['IPv4', 'IPv6'].flatMap((f) => sizes.map((s) => [f, Number(s), true])));
    expect(j.drops).toBe(0);
    // The TAP port gives the driver its packet pool: every frame is swapped in and out of the
    // slots, none copied (TAP_DEFAULT_EXTRA_BUFS; with no pool both counts were the frames' bytes).
    expect(j.driver.rxPackets).toBeGreaterThan(0);
    expect(j.driver.rxBorrowed).toBe(j.driver.rxPackets);
    expect(j.driver.rxCopied).toBe(0);
    expect(j.driver.txCopied).toBe(0);
    // An inline TAP port keeps one burst per receive turn (BootOptions.concurrentPeer's default).
    expect(j.concurrentPeer).toBe(false);
  }, 60_000);
});
