// copies (issue 11): how many times each payload byte is copied from the sending socket to the
// receiving one, counted by src/copycount at every copy site (not timed, so not noisy). Two
// unikernels, sync loops inline (the counters are per thread), one bulk TCP transfer over a VALE
// switch and over a netmap pipe, offloads (TSO/GRO) on and off, the receiver taking 'data' views
// (and once reading with onread, as the e2e rows' sink does). Frame bytes are counted where
// frames are copied (driver, host, linearisation), so headers add a little: ~66 B per 1448 B
// segment without TSO, ~66 B per 64 KiB with it.
import { COPY_SITE_NAMES, copyBytes, resetCopyCounts } from '../src/copycount/index.ts';
import { ValeSwitch, createPipe, type NetmapPort } from '../src/host/index.ts';
import { Unikernel } from '../src/unikernel/index.ts';
import type { Net } from '../src/stack/index.ts';
import { countingSink } from './e2e-lib.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

/** How the receiving application takes the bytes. */
type SinkKind = 'data' | 'onread';

/**
 * A counting sink on 5001. 'data': node's 'data' events, views of the receive buffer (no copy
 * beyond the receive buffer's own, rcvbufIn). 'onread': countingSink, the e2e rows' sink: bytes
 * copied into one reused buffer, most straight from the frame (rcvbufOut instead of rcvbufIn).
 */
function sinkOf(net: Net, kind: SinkKind): { bytes: () => number; close: () => void } {
  if (kind === 'onread') {
    const s = countingSink(net, 5001);
    return { bytes: s.bytes, close: () => s.server.close() };
  }
  let n = 0;
  const server = net
    .createServer((s) => s.on('error', () => {}).on('data', (d: Buffer) => (n += d.length)))
    .listen(5001);
  return { bytes: () => n, close: () => server.close() };
}

const TCP = { sndBuf: 1 << 20, rcvBuf: 1 << 20 };
/** Issue 11: at most 3 copies over VALE (its own copy included), 2 over a pipe; Linux makes 2. */
const TARGET = { vale: 3, pipe: 2 };

export interface CopyFigures {
  /** Copies per payload byte, all sites together. */
  total: number;
  /** Per site (COPY_SITE_NAMES order). */
  perSite: number[];
  payload: number;
}

/** Sends `mb` MiB (after `warmMb` MiB uncounted) between two unikernels on ports a, b. */
export async function copiesPerByte(
  pa: NetmapPort,
  pb: NetmapPort,
  offloads: boolean,
  mb: number,
  warmMb: number,
  zeroCopy = false,
  sinkKind: SinkKind = 'data',
): Promise<CopyFigures> {
  const a = await Unikernel.boot({ port: pa, ipv4: '10.0.0.1/24', offloads, tcp: TCP });
  const b = await Unikernel.boot({ port: pb, ipv4: '10.0.0.2/24', offloads, tcp: TCP });
  try {
    const sink = sinkOf(b.net, sinkKind);
    await sendBytes(a, sink.bytes, warmMb << 20, zeroCopy);
    resetCopyCounts();
    const b0 = sink.bytes();
    await sendBytes(a, sink.bytes, mb << 20, zeroCopy);
    const payload = sink.bytes() - b0;
    const perSite = [...copyBytes].map((n) => n / payload);
    sink.close();
    return { total: perSite.reduce((s, x) => s + x, 0), perSite, payload };
  } finally {
    a.shutdown();
    b.shutdown();
  }
}

/**
 * One connection carrying exactly `n` bytes; resolves when the sink has them all. zeroCopy: the
 * writes are MSG_ZEROCOPY ones (the one chunk written over and over never changes, as the
 * completions would require).
 */
async function sendBytes(a: Unikernel, sinkBytes: () => number, n: number, zeroCopy: boolean): Promise<void> {
  const start = sinkBytes();
  const c = a.net.connect({ host: '10.0.0.2', port: 5001 });
  await new Promise<void>((res, rej) => c.once('connect', res).once('error', rej));
  c.setZeroCopy(zeroCopy);
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  for (let sent = 0; sent < n; sent += chunk.length) {
    if (!c.write(chunk.subarray(0, Math.min(chunk.length, n - sent))))
      await new Promise<void>((r) => c.once('drain', r));
  }
  const t0 = performance.now();
  while (sinkBytes() - start < n) {
    if (performance.now() - t0 > 60_000) throw new Error(`stalled at ${sinkBytes() - start} of ${n} B`);
    await new Promise((r) => setTimeout(r, 2));
  }
  c.destroy();
}

export const copiesSuite: BenchSuite = {
  name: 'copies',
  counted: true,
  async run({ quick }): Promise<BenchRow[]> {
    const mb = quick ? 8 : 64;
    const rows: BenchRow[] = [];
    for (const via of ['vale', 'pipe'] as const) {
      for (const [offloads, zeroCopy, sinkKind] of [
        [true, false, 'data'],
        [false, false, 'data'],
        [true, true, 'data'],
        [true, false, 'onread'],
      ] as const) {
        const what = `socket→socket, uk⇄uk ${via === 'vale' ? 'VALE' : 'pipe'} inline, offloads ${offloads ? 'on' : 'off'}${zeroCopy ? ', zero-copy writes' : ''}${sinkKind === 'onread' ? ', onread sink' : ''}`;
        let ports: [NetmapPort, NetmapPort];
        let close = (): Promise<void> => Promise.resolve();
        if (via === 'vale') {
          const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
          ports = [vale.attach('a'), vale.attach('b')];
        } else {
          const [x, y] = createPipe('cp');
          ports = [x, y];
          close = async () => {
            await x.close();
            await y.close();
          };
        }
        try {
          const r = await copiesPerByte(ports[0], ports[1], offloads, mb, 4, zeroCopy, sinkKind);
          const sites = r.perSite
            .map((x, i) => (x >= 0.005 ? `${COPY_SITE_NAMES[i]} ${x.toFixed(2)}` : ''))
            .filter((s) => s !== '')
            .join(', ');
          rows.push({
            name: `copies per payload byte, ${what}`,
            // To the hundredth, as printed: with TSO the frame headers the host copies add ~0.001.
            value: Math.round(r.total * 100) / 100,
            unit: 'copies/B',
            target: { value: TARGET[via], higherIsBetter: false },
            note: `${sites} (${(r.payload / 2 ** 20).toFixed(0)} MiB; Linux: 2)`,
          });
        } catch (e) {
          rows.push({
            name: `copies per payload byte, ${what}`,
            value: 0,
            unit: 'copies/B',
            note: `failed: ${(e as Error).message}`,
          });
        } finally {
          await close();
        }
      }
    }
    return rows;
  },
};
