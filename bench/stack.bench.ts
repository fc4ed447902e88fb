// stack: TCP_STREAM (Gbps), TCP_RR (1-byte transactions/s) and ping (µs) between two stacks over
// the in-memory NetIf pair in wall time, with offloads (TSO + checksum) on and off. The seed's
// figures were taken over VALE through the ptnet driver, so the ratio is indicative only.
import { createNetIfPair, type NetIfOffloads } from '../src/netif/index.ts';
import { Stack } from '../src/stack/index.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

const ALL: Partial<NetIfOffloads> = { txCsum: true, rxCsum: true, tso4: true, rxGso: true };

function pair(offloads: boolean): { a: Stack; b: Stack; stop: () => void } {
  const off = offloads ? ALL : {};
  const { a, b } = createNetIfPair({ a: { offloads: off }, b: { offloads: off } });
  const A = new Stack({ netif: a, ipv4: '10.0.0.1/24', tcp: { sndBuf: 1 << 20, rcvBuf: 1 << 20 } });
  const B = new Stack({ netif: b, ipv4: '10.0.0.2/24', tcp: { sndBuf: 1 << 20, rcvBuf: 1 << 20 } });
  return {
    a: A,
    b: B,
    stop: () => {
      (A.time as { stop?: () => void }).stop?.();
      (B.time as { stop?: () => void }).stop?.();
    },
  };
}

async function stream(offloads: boolean, ms: number): Promise<number> {
  const { a, b, stop } = pair(offloads);
  let bytes = 0;
  let counting = false;
  const srv = b.net
    .createServer((s) => s.on('error', () => {}).on('data', (d: Buffer) => counting && (bytes += d.length)))
    .listen(5001);
  const c = a.net.connect({ host: '10.0.0.2', port: 5001 });
  await new Promise<void>((r) => c.once('connect', r));
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let running = true;
  const pump = (): void => {
    while (running && c.write(chunk));
  };
  c.on('drain', pump);
  pump();
  await new Promise((r) => setTimeout(r, Math.min(300, ms / 3)));
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const secs = (performance.now() - t0) / 1000;
  running = false;
  c.destroy();
  srv.close();
  stop();
  return (bytes * 8) / secs / 1e9;
}

async function rr(ms: number): Promise<number> {
  const { a, b, stop } = pair(true);
  const srv = b.net
    .createServer((s) => s.on('error', () => {}).on('data', (d: Buffer) => s.write(d)))
    .listen(5002);
  const c = a.net.connect({ host: '10.0.0.2', port: 5002 });
  c.setNoDelay(true);
  await new Promise<void>((r) => c.once('connect', r));
  const one = Buffer.from([1]);
  let n = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    c.on('data', () => {
      n++;
      if (performance.now() < end) c.write(one);
      else resolve();
    });
    c.write(one);
  });
  const secs = (performance.now() - t0) / 1000;
  c.destroy();
  srv.close();
  stop();
  return n / secs;
}

async function ping(count: number): Promise<number> {
  const { a, stop } = pair(false);
  await a.ping('10.0.0.2');
  let sum = 0;
  for (let i = 0; i < count; i++) sum += await a.ping('10.0.0.2');
  stop();
  return (sum / count) * 1000;
}

export const stackSuite: BenchSuite = {
  name: 'stack',
  async run({ quick }): Promise<BenchRow[]> {
    const ms = quick ? 500 : 3000;
    const seedStream = { name: 'seed TCP_STREAM over VALE', value: 21.7, measured: false };
    const note = 'two stacks over the in-memory NetIf pair, one thread';
    return [
      {
        name: 'TCP_STREAM, TSO + csum offload',
        value: await stream(true, ms),
        unit: 'Gbps',
        reference: seedStream,
        note,
      },
      {
        name: 'TCP_STREAM, no offloads',
        value: await stream(false, ms),
        unit: 'Gbps',
        reference: seedStream,
        note,
      },
      {
        name: 'TCP_RR 1 B',
        value: await rr(ms),
        unit: 'tps',
        reference: { name: 'seed TCP_RR over VALE', value: 46700, measured: false },
        note,
      },
      {
        name: 'ping',
        value: await ping(quick ? 200 : 1000),
        unit: 'µs',
        reference: { name: 'seed ping over VALE', value: 28, measured: false },
        note,
      },
    ];
  },
};
