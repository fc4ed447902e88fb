// VALE's software segmentation toward a header-less port, on each of its paths: in a window of
// the scratch the switch puts after its region (all copies by Wasm in the region's memory), in the
// port's own memory (a region the caller gave, or every window taken), and out of a window into
// the port's own memory for a frame that needs more room. Each path must deliver Linux's segments
// (src/tso) byte for byte, and leave every window free for the next frame.
import { describe, expect, it } from 'vitest';
import { csumValid, ipv4HeaderValid, pseudoV4 } from '../../src/checksum/index.ts';
import { COPY_SITE, copyBytes, resetCopyCounts } from '../../src/copycount/index.ts';
import { type GsoScratch, VALE_GSO_SLICES, ValeSwitch, smallRegion } from '../../src/host/index.ts';
import { NS_MOREFRAG } from '../../src/netmap/constants.ts';
import { SegmentList, gsoSegment, type GsoHeader } from '../../src/tso/index.ts';
import { buildFrame, rng, tapRecord } from '../oracle/lib/gen.ts';
import { inlineGuest } from './guest.ts';

type Setup = 'window' | 'caller region' | 'windows taken';

/** A switch with a header port `a` and a header-less port `b` (b's MAC learnt), on `setup`'s path. */
function pair(setup: Setup, rxSlots = 1024) {
  const vale = new ValeSwitch(`gso-${setup.replace(/ /g, '-')}`, {
    maxPorts: 4,
    region: setup === 'caller region' ? smallRegion(8192, 4) : undefined,
  });
  const q: (() => void)[] = [];
  const pa = vale.attach('a', { vnetHdrLen: 12, txSlots: 256 });
  const pb = vale.attach('b', { vnetHdrLen: 0, rxSlots });
  const a = inlineGuest(pa, q);
  const b = inlineGuest(pb, q);
  const hello = new Uint8Array(60);
  hello.set(pa.mac, 0);
  hello.set(pb.mac, 6);
  b.send(hello);
  a.recv();
  const gso = vale.sw.gso;
  const held: number[] = [];
  if (setup === 'windows taken') for (let k = 0; k < VALE_GSO_SLICES; k++) held.push(gso!.claim());
  /** Gives back the windows the test held, checks that every window is free, closes all. */
  const done = async (): Promise<void> => {
    for (const k of held) gso!.release(k);
    expectWindowsFree(gso);
    a.kloop.stop();
    b.kloop.stop();
    await vale.close();
  };
  return { pa, pb, a, b, gso, done };
}

/**
 * A GSO frame from a to b, Linux's pseudo-header in the L4 checksum field: TCP (TSO, v4 by default)
 * or UDP (UFO), `payload` bytes at gso_size `mss`.
 */
function tso(
  dst: Uint8Array,
  src: Uint8Array,
  payload: number,
  mss: number,
  seed: number,
  v6 = false,
  proto: 6 | 17 = 6,
) {
  const built = buildFrame({ v6, proto, payload, check: 'pseudo' }, rng(seed));
  const f = built.frame;
  f.set(dst, 0);
  f.set(src, 6);
  const h: GsoHeader = {
    flags: 1,
    gsoType: proto === 17 ? 3 : v6 ? 4 : 1,
    hdrLen: built.th + built.thlen,
    gsoSize: mss,
    csumStart: built.th,
    csumOffset: proto === 17 ? 6 : 16,
  };
  return { f, h, th: built.th, nh: built.nh };
}

/** What `got` must be: gsoSegment's segments of f, byte for byte. */
function expectSegmenterOutput(got: { data: Uint8Array }[], f: Uint8Array, h: GsoHeader): void {
  const want = new SegmentList();
  const n = gsoSegment(h, f, want, { vnetHdrSz: 12 });
  expect(got.length).toBe(n);
  for (let i = 0; i < n; i++) expect(got[i]!.data).toEqual(want.segment(i));
}

function expectLinuxSegments(
  got: { data: Uint8Array }[],
  f: Uint8Array,
  h: GsoHeader,
  th: number,
  nh: number,
): void {
  expectSegmenterOutput(got, f, h);
  for (const { data: d } of got) {
    expect(ipv4HeaderValid(d, nh)).toBe(true);
    const dv = new DataView(d.buffer, d.byteOffset);
    const l4 = d.length - th;
    expect(csumValid(d, th, l4, pseudoV4(dv.getUint32(nh + 12), dv.getUint32(nh + 16), 6, l4))).toBe(true);
  }
}

/** Every window of the switch is free (a claim gets window 0), then released again. */
function expectWindowsFree(gso: GsoScratch | null): void {
  if (gso === null) return;
  const got: number[] = [];
  for (let k = 0; k < VALE_GSO_SLICES; k++) got.push(gso.claim());
  expect(got).toEqual(Array.from({ length: VALE_GSO_SLICES }, (_, k) => k));
  for (const k of got) gso.release(k);
}

describe('VALE segmentation toward a header-less port, on every path', () => {
  const setups: Setup[] = ['window', 'caller region', 'windows taken'];

  it.each(setups)('%s: TSO frames of every size are Linux’s segments byte for byte', async (setup) => {
    const { pa, pb, a, b, gso, done } = pair(setup);
    expect(gso === null).toBe(setup === 'caller region');
    for (const [payload, mss, seed] of [
      [1449, 1448, 1],
      [30_000, 1448, 2],
      [64_000, 1448, 3],
      [62_000, 1000, 4],
      [10_000, 536, 5],
    ] as const) {
      const { f, h, th, nh } = tso(pb.mac, pa.mac, payload, mss, seed);
      a.send(tapRecord(h, f));
      expectLinuxSegments(b.recv(), f, h, th, nh);
    }
    expect(Object.values(pb.datapath.drops()).every((n) => n === 0)).toBe(true);
    await done();
  });

  it.each(setups)(
    '%s: the virtio-net header alone in the first slot, the frame in the next ones',
    async (setup) => {
      const { pa, pb, a, b, done } = pair(setup);
      const { f, h, th, nh } = tso(pb.mac, pa.mac, 20_000, 1448, 6);
      a.tx.txsync();
      a.tx.put(tapRecord(h, new Uint8Array(0)), NS_MOREFRAG);
      a.tx.putChain(f);
      a.tx.txsync();
      a.drain();
      expectLinuxSegments(b.recv(), f, h, th, nh);
      await done();
    },
  );

  it.each(setups)(
    '%s: slots whose buffers are out of order, so the gather copies piece by piece',
    async (setup) => {
      const { pa, pb, a, b, done } = pair(setup);
      // Reverse the TX ring's buffers: no two consecutive slots hold consecutive buffers.
      const t = a.tx;
      const idx = Array.from({ length: t.n }, (_, i) => t.bufIdx(i));
      for (let i = 0; i < t.n; i++) t.setBufIdx(i, idx[t.n - 1 - i]!);
      for (const [payload, seed] of [
        [50_000, 10],
        [64_000, 11],
      ] as const) {
        const { f, h, th, nh } = tso(pb.mac, pa.mac, payload, 1448, seed);
        a.send(tapRecord(h, f));
        expectLinuxSegments(b.recv(), f, h, th, nh);
      }
      await done();
    },
  );

  it.each(setups)(
    '%s: copies each byte twice in a window (into the receiver’s slots), three times otherwise',
    async (setup) => {
      const { pa, pb, a, b, done } = pair(setup);
      const { f, h, th, nh } = tso(pb.mac, pa.mac, 40_000, 1448, 12);
      resetCopyCounts();
      a.send(tapRecord(h, f));
      const host = copyBytes[COPY_SITE.host]!;
      const got = b.recv();
      expectLinuxSegments(got, f, h, th, nh);
      const segBytes = got.reduce((s, p) => s + p.data.length, 0);
      // Gathered once; then segmented straight into the slots, or segmented and scattered.
      expect(host).toBe(f.length + (setup === 'window' ? 1 : 2) * segBytes);
      await done();
    },
  );

  it.each(setups)(
    '%s: TCPv6 and UDP fragmentation (UFO, v4 and v6) frames are Linux’s too',
    async (setup) => {
      const { pa, pb, a, b, done } = pair(setup);
      const cases: [boolean, 6 | 17, number, number][] = [
        [true, 6, 40_000, 1428],
        [false, 17, 30_000, 1472],
        [true, 17, 30_000, 1448],
      ];
      for (const [v6, proto, payload, mss] of cases) {
        const { f, h } = tso(pb.mac, pa.mac, payload, mss, payload + mss, v6, proto);
        a.send(tapRecord(h, f));
        expectSegmenterOutput(b.recv(), f, h);
      }
      expect(Object.values(pb.datapath.drops()).every((x) => x === 0)).toBe(true);
      await done();
    },
  );

  it.each(setups)(
    '%s: too few free receiver slots, or segments longer than its mfs: dropped whole and counted',
    async (setup) => {
      const { pa, pb, a, b, done } = pair(setup, 32);
      // 46 segments for a 32-slot ring (31 free at most).
      const many = tso(pb.mac, pa.mac, 64_000, 1448, 14);
      a.send(tapRecord(many.h, many.f));
      expect(b.recv()).toEqual([]);
      // gso_size 3000: segments of 3066 bytes for a receiver whose mfs is 1514.
      const long = tso(pb.mac, pa.mac, 20_000, 3000, 15);
      a.send(tapRecord(long.h, long.f));
      expect(b.recv()).toEqual([]);
      expect(pb.datapath.drops().NO_SPACE).toBe(2);
      // Nothing half-written was published: a frame that fits still arrives whole.
      const fits = tso(pb.mac, pa.mac, 20_000, 1448, 16);
      a.send(tapRecord(fits.h, fits.f));
      expectLinuxSegments(b.recv(), fits.f, fits.h, fits.th, fits.nh);
      await done();
    },
  );

  it('a bad buffer index among the receiver’s free slots: not segmented into place, dropped as before', async () => {
    const { pa, pb, a, b, done } = pair('window');
    const { f, h, th, nh } = tso(pb.mac, pa.mac, 20_000, 1448, 13);
    // The receiver's guest spoils the buffer index of the fourth free slot.
    b.rx.rxsync();
    const r = b.rx;
    const spoilt = (r.tail + 3) % r.n;
    const keep = r.bufIdx(spoilt);
    r.setBufIdx(spoilt, 0x7fffffff);
    a.send(tapRecord(h, f));
    expect(b.recv()).toEqual([]);
    expect(pb.datapath.drops().BAD_BUF_IDX).toBe(1);
    r.setBufIdx(spoilt, keep);
    a.send(tapRecord(h, f));
    expectLinuxSegments(b.recv(), f, h, th, nh);
    await done();
  });

  it('a frame needing more room than a window is segmented in the port’s memory; the next one in a window', async () => {
    const { pa, pb, a, b, gso, done } = pair('window', 2048);
    // 120 000 B at gso_size 64: 1875 segments, ~340 KB of them after the gathered frame.
    const big = tso(pb.mac, pa.mac, 120_000, 64, 7);
    a.send(tapRecord(big.h, big.f));
    expectLinuxSegments(b.recv(), big.f, big.h, big.th, big.nh);
    expect(gso!.list(0).inWindow).toBe(false);
    const next = tso(pb.mac, pa.mac, 40_000, 1448, 8);
    a.send(tapRecord(next.h, next.f));
    expectLinuxSegments(b.recv(), next.f, next.h, next.th, next.nh);
    expect(gso!.list(0).inWindow).toBe(true);
    await done();
  });

  it('a frame Linux drops frees its window too, and is counted', async () => {
    const { pa, pb, a, b, done } = pair('window');
    const { f, h } = tso(pb.mac, pa.mac, 20_000, 1448, 9);
    // gso_size 0: Linux refuses the write (virtio_net_hdr_to_skb).
    a.send(tapRecord({ ...h, gsoSize: 0 }, f));
    expect(b.recv()).toEqual([]);
    expect(pa.datapath.drops().GSO_BAD).toBe(1);
    await done();
  });
});
