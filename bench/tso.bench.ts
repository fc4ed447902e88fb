// Software GSO and GRO throughput (issue 5): Gbps of super-frame bytes segmented (TCPv4/TCPv6 64 KiB
// at mss 1448, USO 63 KiB at 1472) and of segment bytes coalesced by GRO, against a plain copy of
// the same bytes measured in the same run (the floor any segmenter pays: every byte is copied once
// and summed once). Then the same TSO frame through a VALE switch toward a header-less port, the
// whole of the switch's work: gathered from the sender's slots, segmented, scattered into the
// receiver's.
import { copierFor, createPacketMemory } from '../src/checksum/index.ts';
import { ValeSwitch } from '../src/host/index.ts';
import { rate, type BenchRow, type BenchSuite } from './harness.ts';
import { GroEngine, GroOutput, SegmentList, gsoSegment, type GsoHeader } from '../src/tso/index.ts';
import { inlineGuest } from '../test/host/guest.ts';
import { buildFrame, tapRecord } from '../test/oracle/lib/gen.ts';

/**
 * Segments per second of `frame` (hdr `h`) sent by an inline guest on a VALE port with 12-byte
 * headers to one without: the sender's ring holds copies of the frame's chain, written once (VALE
 * copies out of TX buffers and leaves them as they are), so each round only moves head; the
 * receiver releases what it got.
 */
async function valeGsoRate(frame: Uint8Array, h: GsoHeader, segments: number, ms: number): Promise<number> {
  const pkt = tapRecord(h, frame);
  const frags = Math.ceil(pkt.length / 2048);
  const copies = 16;
  const vale = new ValeSwitch('bench-gso', { maxPorts: 4 });
  const q: (() => void)[] = [];
  const pa = vale.attach('a', { vnetHdrLen: 12, txSlots: frags * copies });
  const pb = vale.attach('b', { vnetHdrLen: 0 });
  const a = inlineGuest(pa, q);
  const b = inlineGuest(pb, q);
  pkt.set(pb.mac, 12);
  pkt.set(pa.mac, 18);
  // b's MAC learnt, so that a's frames are forwarded to b alone.
  const hello = new Uint8Array(60);
  hello.set(pa.mac, 0);
  hello.set(pb.mac, 6);
  b.send(hello);
  a.recv();
  // A ring of `copies` whole chains (one slot short of holding them all at once: sent one by one).
  for (let c = 0; c < copies; c++) {
    a.tx.txsync();
    a.tx.putChain(pkt);
    a.tx.txsync();
    a.drain();
  }
  const first = b.recv().length;
  if (first !== copies * segments) throw new Error(`VALE GSO bench: ${first} segments of ${copies} frames`);
  let segs = 0;
  let rounds = 0;
  const round = (): void => {
    rounds++;
    const r = b.rx;
    r.rxsync();
    for (let i = r.head; i !== r.tail; i = r.next(i)) segs++;
    r.head = r.cur = r.tail;
    r.rxsync();
    b.drain();
    const t = a.tx;
    t.head = t.cur = (t.head + frags) % t.n;
    t.txsync();
    a.drain();
  };
  const perSec = rate(round, ms);
  const drops = Object.values(pb.datapath.drops()).reduce((x, y) => x + y, 0);
  // Each round receives the frame sent by the one before: all of its segments, or the row lies.
  if (drops !== 0 || segs !== segments * (rounds - 1))
    throw new Error(`VALE GSO bench: ${segs} segments in ${rounds} rounds of ${segments}, ${drops} drops`);
  a.kloop.stop();
  b.kloop.stop();
  await vale.close();
  return perSec * segments;
}

function gbps(bytes: number, perSec: number): number {
  return (bytes * 8 * perSec) / 1e9;
}

export const tsoSuite: BenchSuite = {
  name: 'tso',
  async run({ quick }) {
    const ms = quick ? 300 : 1500;
    const rows: BenchRow[] = [];
    const out = new SegmentList();
    const copyDst = new Uint8Array(70_000);

    const cases: { name: string; frame: Uint8Array; h: GsoHeader; run?: () => void }[] = [];
    const t4 = buildFrame({
      proto: 6,
      payload: 65_535 - 40 - 12,
      fill: 0x5a,
      tcpOptions: new Uint8Array([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]),
    });
    cases.push({
      name: 'GSO TCPv4 64 KiB, mss 1448',
      frame: t4.frame,
      h: { flags: 1, gsoType: 1, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 },
    });
    const t6 = buildFrame({
      proto: 6,
      v6: true,
      payload: 65_535 - 20 - 12,
      fill: 0x5a,
      tcpOptions: new Uint8Array([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]),
    });
    cases.push({
      name: 'GSO TCPv6 64 KiB, mss 1428',
      frame: t6.frame,
      h: { flags: 1, gsoType: 4, hdrLen: 86, gsoSize: 1428, csumStart: 54, csumOffset: 16 },
    });
    const u4 = buildFrame({ proto: 17, payload: 1472 * 43, fill: 0x5a });
    cases.push({
      name: 'GSO USO v4 62 KiB, gso_size 1472',
      frame: u4.frame,
      h: { flags: 1, gsoType: 5, hdrLen: 42, gsoSize: 1472, csumStart: 34, csumOffset: 6 },
    });

    // The TCPv4 case again from a shared packet memory, as VALE segments it: the frame gathered by
    // Wasm's memory.copy into a window of the same memory, and segmented there in place.
    const t4len = cases[0]!.frame.length;
    const pm = createPacketMemory(t4len + 512 * 1024);
    const inPm = new Uint8Array(pm.buffer, 0, t4len);
    inPm.set(cases[0]!.frame);
    const win = new SegmentList(256 * 1024, 256, { buffer: pm.buffer, base: 128 * 1024, size: 384 * 1024 });
    const pmCopy = copierFor(pm.buffer)!;
    const gathered = (): void => {
      const room = win.frameRoom(t4len);
      pmCopy(room.byteOffset, 0, t4len);
      gsoSegment(cases[0]!.h, room, win);
    };
    cases.push({
      ...cases[0]!,
      name: `${cases[0]!.name}, gathered in a window of its shared packet memory (VALE)`,
      frame: inPm,
      run: gathered,
    });

    for (const c of cases) {
      const f = c.frame;
      const segsPerSec = rate(c.run ?? ((): number => gsoSegment(c.h, f, out)), ms);
      const n = (c.run === undefined ? out : win).count;
      const copyPerSec = rate(() => copyDst.set(f), ms);
      rows.push({
        name: c.name,
        value: gbps(f.length, segsPerSec),
        unit: 'Gbit/s',
        reference: {
          name: `copy of the same ${f.length} B`,
          value: gbps(f.length, copyPerSec),
          measured: true,
        },
        note: `${n} segments; ${((segsPerSec * n) / 1e6).toFixed(2)} Mseg/s`,
      });
      rows.push({
        name: `${c.name}, segments`,
        value: (segsPerSec * n) / 1e6,
        unit: 'Mseg/s',
        target: { value: 4, higherIsBetter: true }, // issue 11
      });
    }

    // VALE toward a header-less port: the TCPv4 case, gathered, segmented and scattered by the switch.
    const t4segs = gsoSegment(cases[0]!.h, cases[0]!.frame, out);
    const valeSegs = await valeGsoRate(cases[0]!.frame, cases[0]!.h, t4segs, ms);
    rows.push({
      name: 'VALE, TSO TCPv4 64 KiB toward a port without virtio-net headers, segments',
      value: valeSegs / 1e6,
      unit: 'Mseg/s',
      target: { value: 4, higherIsBetter: true }, // issue 11: the switch's segmentation at GSO's rate
      note: `${t4segs} segments a frame; gathered from 33 TX slots, segmented into the RX slots' buffers (inline)`,
    });

    // GRO: the TCPv4 case's 46 wire segments coalesced back into one super-frame per burst.
    gsoSegment(cases[0]!.h, cases[0]!.frame, out);
    const wire = out.toArray();
    const wireBytes = wire.reduce((a, s) => a + s.length, 0);
    const gro = new GroEngine();
    const got = new GroOutput();
    const perSec = rate(() => {
      got.clear();
      for (const s of wire) gro.receive(s, got);
      gro.flush(got);
    }, ms);
    rows.push({
      name: `GRO TCPv4 ${wire.length} × ${wire[0]!.length} B → 1 super-frame`,
      value: gbps(wireBytes, perSec),
      unit: 'Gbit/s',
      note: `${((perSec * wire.length) / 1e6).toFixed(2)} Mseg/s; every segment's TCP checksum is verified`,
    });
    rows.push({
      name: 'GRO TCPv4, segments',
      value: (perSec * wire.length) / 1e6,
      unit: 'Mseg/s',
      target: { value: 4, higherIsBetter: true }, // issue 11: GRO as fast as GSO
    });
    return rows;
  },
};
