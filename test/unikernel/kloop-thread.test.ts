// Unikernels whose ports one sync-loop thread serves (KloopThread): traffic between them, ports
// joining and leaving while the others carry traffic (the first port's GROUP block is the bell
// until it leaves), and the options the thread refuses.
import { describe, expect, it } from 'vitest';
import { KloopThread, ValeSwitch } from '../../src/host/index.ts';
import { Unikernel, UnikernelError } from '../../src/unikernel/index.ts';

/** `n` pings, each answered within a second: a lost wake-up waits for the 3 s timeout pass. */
async function pings(from: Unikernel, to: string, n: number): Promise<number> {
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, await from.ping(to, { timeout: 1000 }));
  return worst;
}

/** Sends `bytes` from `from` to a sink on `to`:5001 and resolves with what the sink counted. */
async function transfer(from: Unikernel, to: Unikernel, addr: string, bytes: number): Promise<number> {
  let got = 0;
  const server = to.net.createServer((s) => s.on('data', (d: Buffer) => (got += d.length))).listen(5001);
  const c = from.net.connect({ host: addr, port: 5001 });
  await new Promise<void>((res) => c.once('connect', res));
  const chunk = Buffer.alloc(64 * 1024, 7);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!c.write(chunk)) await new Promise((res) => c.once('drain', res));
  }
  await new Promise<void>((res) => c.end(res));
  for (let i = 0; i < 200 && got < bytes; i++) await new Promise((r) => setTimeout(r, 10));
  server.close();
  return got;
}

/** Boots unikernels on ports of `vale`, their sync loops on `thread`. */
const booter =
  (vale: ValeSwitch, thread: KloopThread) =>
  (name: string, ip: string): Promise<Unikernel> =>
    Unikernel.boot({ port: vale.attach(name), ipv4: ip, mode: 'worker', kloopThread: thread });

const rescues = (...u: Unikernel[]): number => u.flatMap((x) => x.kloops).reduce((n, l) => n + l.rescues, 0);

describe('one sync-loop thread for several unikernels', () => {
  it('carries traffic while ports join and leave, the first one (the bell) included', async () => {
    const vale = new ValeSwitch('vale-kt', { vnetHdrLen: 12 });
    const thread = new KloopThread();
    const boot = booter(vale, thread);
    const a = await boot('a', '10.9.0.1/24');
    const b = await boot('b', '10.9.0.2/24');
    const c = await boot('c', '10.9.0.3/24');
    let d: Unikernel | null = null;
    try {
      expect(thread.size).toBe(3);
      expect(await pings(a, '10.9.0.2', 20)).toBeLessThan(1000);
      expect(await pings(c, '10.9.0.2', 20)).toBeLessThan(1000);
      expect(await transfer(a, b, '10.9.0.2', 4 << 20)).toBe(4 << 20);
      // The first port (whose GROUP block is the bell) leaves: b and c now ring b's, with no wait.
      await a.close();
      expect(thread.size).toBe(2);
      expect(await pings(c, '10.9.0.2', 20)).toBeLessThan(1000);
      expect(await transfer(c, b, '10.9.0.2', 4 << 20)).toBe(4 << 20);
      // A port joins the running thread.
      d = await boot('d', '10.9.0.4/24');
      expect(thread.size).toBe(3);
      expect(await pings(d, '10.9.0.3', 20)).toBeLessThan(1000);
      expect(await transfer(b, d, '10.9.0.4', 2 << 20)).toBe(2 << 20);
      expect(rescues(b, c, d)).toBe(0);
    } finally {
      await Promise.all([a, b, c, d].map((u) => u?.close()));
    }
    expect(thread.size).toBe(0);
  }, 60_000);

  it('switchBackend: to a port of the same switch on the same thread; to another switch refused', async () => {
    const vale = new ValeSwitch('vale-kt4', { vnetHdrLen: 12 });
    const other = new ValeSwitch('vale-kt5', { vnetHdrLen: 12 });
    const thread = new KloopThread();
    const boot = booter(vale, thread);
    const a = await boot('a', '10.9.2.1/24');
    const b = await boot('b', '10.9.2.2/24');
    try {
      const err = await a.switchBackend(other.attach('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnikernelError);
      expect((err as UnikernelError).code).toBe('BAD_OPTION');
      expect(thread.size).toBe(2);
      expect(await pings(a, '10.9.2.2', 5)).toBeLessThan(1000);
      // Make before break on one thread: a's new port joins, its old one leaves.
      await a.switchBackend(vale.attach('a2'));
      expect(thread.size).toBe(2);
      expect(await pings(a, '10.9.2.2', 20)).toBeLessThan(1000);
      expect(await transfer(b, a, '10.9.2.1', 2 << 20)).toBe(2 << 20);
      expect(rescues(a, b)).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    expect(thread.size).toBe(0);
  }, 60_000);

  it('refuses what it cannot serve, before plugging anything', async () => {
    const vale = new ValeSwitch('vale-kt2', { vnetHdrLen: 12 });
    const other = new ValeSwitch('vale-kt3', { vnetHdrLen: 12 });
    const thread = new KloopThread();
    const bad = async (o: Partial<Parameters<typeof Unikernel.boot>[0]>, why: RegExp): Promise<void> => {
      const port = o.port ?? vale.attach(`p${Math.random()}`);
      const err = await Unikernel.boot({
        port,
        ipv4: '10.9.1.9/24',
        mode: 'worker',
        kloopThread: thread,
        ...o,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnikernelError);
      expect((err as UnikernelError).code).toBe('BAD_OPTION');
      expect((err as Error).message).toMatch(why);
      // Nothing was plugged: the port takes a kloop afterwards.
      expect(port.datapath.state[port.datapath.ctl + 4]).toBe(0);
    };
    await bad({ mode: 'inline' }, /needs mode worker/);
    await bad({ kloopThread: undefined, busyPollUs: -1 }, /busyPollUs/);
    await bad({ kloopThread: undefined, pollers: 0.5 }, /pollers/);
    await bad({ spinUs: 10 }, /kloopThread's own/);
    const u = await Unikernel.boot({
      port: vale.attach('u'),
      ipv4: '10.9.1.1/24',
      mode: 'worker',
      kloopThread: thread,
    });
    try {
      await bad({ port: other.attach('x') }, /share memory/);
      expect(thread.size).toBe(1);
    } finally {
      await u.close();
    }
  }, 30_000);
});
