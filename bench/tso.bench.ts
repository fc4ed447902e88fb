// Software GSO and GRO throughput (issue 5): Gbps of super-frame bytes segmented (TCPv4/TCPv6 64 KiB
// at mss 1448, USO 63 KiB at 1472) and of segment bytes coalesced by GRO, against a plain copy of
// the same bytes measured in the same run (the floor any segmenter pays: every byte is copied once
// and summed once).
import { createPacketMemory } from '../src/checksum/index.ts';
import { rate, type BenchRow, type BenchSuite } from './harness.ts';
import { GroEngine, GroOutput, SegmentList, gsoSegment, type GsoHeader } from '../src/tso/index.ts';
import { buildFrame } from '../test/oracle/lib/gen.ts';

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

    const cases: { name: string; frame: Uint8Array; h: GsoHeader }[] = [];
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

    // The TCPv4 case again from a packet memory, where VALE gathers a super-frame before segmenting it.
    const pm = createPacketMemory(cases[0]!.frame.length);
    const inPm = new Uint8Array(pm.buffer, 0, cases[0]!.frame.length);
    inPm.set(cases[0]!.frame);
    cases.push({ ...cases[0]!, name: `${cases[0]!.name}, from packet memory (VALE)`, frame: inPm });

    for (const c of cases) {
      const f = c.frame;
      const segsPerSec = rate(() => gsoSegment(c.h, f, out), ms);
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
        note: `${out.count} segments; ${((segsPerSec * out.count) / 1e6).toFixed(2)} Mseg/s`,
      });
      rows.push({
        name: `${c.name}, segments`,
        value: (segsPerSec * out.count) / 1e6,
        unit: 'Mseg/s',
        target: { value: 4, higherIsBetter: true }, // issue 11
      });
    }

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
