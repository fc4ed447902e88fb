// Writes fixtures/pcap/ from the running kernel (scripts/oracle/make-fixtures.ts calls this):
// per class, the super-frames as pcapng with vnet comments (<class>.pcapng), what the kernel put on
// the wire after segmenting them (<class>.kernel.pcap) and its verdict per super-frame
// (<class>.verdicts.txt: `ok N`, `EINVAL` or `dropped`). The reverse direction adds real Linux GSO
// frames read from a TAP with offloads on (tcpv4-tso, tcpv6-tso, udp-uso).
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PcapWriter,
  PcapngWriter,
  formatVnetComment,
  openCapture,
  parseVnetComment,
} from '../../../src/pcap/index.ts';
import type { GsoHeader } from '../../../src/tso/index.ts';
import { generate, tapRecord, type GenCase } from './gen.ts';
import { recordLinuxGso, type Recorded } from './reverse.ts';
import { OracleSession, type CaseResult } from './session.ts';

export interface FixtureClass {
  name: string;
  description: string;
  cases: GenCase[];
}

const TS0 = 1_700_000_000;

function decodeVnet(v: Uint8Array): GsoHeader {
  const d = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return {
    flags: d.getUint8(0),
    gsoType: d.getUint8(1),
    hdrLen: d.getUint16(2, true),
    gsoSize: d.getUint16(4, true),
    csumStart: d.getUint16(6, true),
    csumOffset: d.getUint16(8, true),
  };
}

function ethertype(f: Uint8Array): number {
  let o = 12;
  while (o + 2 <= f.length && ((f[o]! << 8) | f[o + 1]!) === 0x8100) o += 4;
  return o + 2 <= f.length ? (f[o]! << 8) | f[o + 1]! : 0;
}

function l4proto(f: Uint8Array): number {
  const t = ethertype(f);
  if (t === 0x0800) return f[23] ?? 0;
  if (t === 0x86dd) return f[20] ?? 0;
  return 0;
}

/** Generated classes: the first `per` cases of each class from a fixed seed, frames ≤ `maxFrame`. */
function generatedClasses(seed: number, per: number, maxFrame: number): FixtureClass[] {
  const all = generate(seed, 4000).filter((c) => c.frame.length <= maxFrame);
  const pick = (pred: (c: GenCase) => boolean): GenCase[] => all.filter(pred).slice(0, per);
  const vlanOf = (c: GenCase): boolean => c.frame[12] === 0x81 && c.frame[13] === 0x00;
  return [
    {
      name: 'tcpv4-gso',
      description: 'TCPv4 super-frames (IP/TCP options, wrap-around id/seq, all flags, ECN bit)',
      cases: pick((c) => c.name.startsWith('tcp4') && !vlanOf(c)),
    },
    {
      name: 'tcpv6-gso',
      description: 'TCPv6 super-frames (extension headers, all flags)',
      cases: pick((c) => c.name.startsWith('tcp6') && !vlanOf(c)),
    },
    {
      name: 'vlan-gso',
      description: 'TCP super-frames behind one or two 802.1Q tags',
      cases: pick((c) => c.name.startsWith('tcp') && vlanOf(c)),
    },
    { name: 'uso', description: 'USO (GSO_UDP_L4) v4 and v6', cases: pick((c) => c.name.startsWith('uso')) },
    {
      name: 'ufo-v4',
      description: 'UFO (GSO_UDP) over IPv4: fragments',
      cases: pick((c) => c.name.startsWith('ufo4')),
    },
    {
      name: 'ufo-v6',
      description: 'UFO over IPv6: Fragment header (identification is random in Linux)',
      cases: pick((c) => c.name.startsWith('ufo6')),
    },
    {
      name: 'csum-only',
      description: 'NEEDS_CSUM without GSO: checksum completion',
      cases: pick((c) => c.name.startsWith('csum-only')),
    },
    {
      name: 'invalid',
      description: 'headers Linux rejects (EINVAL) or accepts then drops',
      cases: all.filter((c) => c.name.startsWith('invalid')).slice(0, per * 4),
    },
  ];
}

/** Reverse-direction recordings grouped as fixture classes (frames exactly as Linux handed them over). */
export function linuxClasses(recs: Recorded[]): FixtureClass[] {
  const toCase = (r: Recorded, i: number): GenCase => ({
    name: `linux#${i}`,
    hdr: decodeVnet(r.vnet),
    frame: r.frame,
  });
  const tcp4 = recs.filter((r) => ethertype(r.frame) === 0x0800 && l4proto(r.frame) === 6).map(toCase);
  const tcp6 = recs.filter((r) => ethertype(r.frame) === 0x86dd && l4proto(r.frame) === 6).map(toCase);
  const udp = recs.filter((r) => l4proto(r.frame) === 17).map(toCase);
  return [
    {
      name: 'tcpv4-tso',
      description: 'Linux TCPv4 sender, TAP read with TUNSETOFFLOAD (TSO super-frames, SYN/ACKs)',
      cases: tcp4,
    },
    { name: 'tcpv6-tso', description: 'Linux TCPv6 sender, TAP read with TUNSETOFFLOAD', cases: tcp6 },
    {
      name: 'udp-uso',
      description: 'Linux UDP sender with UDP_SEGMENT, TAP read with USO4/USO6 offload',
      cases: udp,
    },
  ];
}

function writeSuper(path: string, cases: GenCase[]): void {
  const fd = openSync(path, 'w');
  try {
    const w = new PcapngWriter(fd);
    const id = w.addInterface({ tsresol: 6 });
    cases.forEach((c, i) => w.write(id, c.frame, TS0, i * 1000, c.frame.length, formatVnetComment(c.hdr)));
    w.flush();
  } finally {
    closeSync(fd);
  }
}

function writeKernel(path: string, results: CaseResult[]): void {
  const fd = openSync(path, 'w');
  try {
    const w = new PcapWriter(fd);
    let n = 0;
    for (const r of results) for (const f of r.frames) w.write(f, TS0, n++ * 1000);
    w.flush();
  } finally {
    closeSync(fd);
  }
}

function verdictLines(results: CaseResult[]): string {
  return (
    results
      .map((r) =>
        r.errno === 22
          ? 'EINVAL'
          : r.errno !== 0
            ? `errno ${r.errno}`
            : r.frames.length === 0
              ? 'dropped'
              : `ok ${r.frames.length}`,
      )
      .join('\n') + '\n'
  );
}

/** Reads a <class>.pcapng back as cases (for the root-free tests and the CLI). */
export function readSuper(path: string): GenCase[] {
  const out: GenCase[] = [];
  const r = openCapture(path);
  try {
    for (const p of r) {
      const h = p.comment === null ? null : parseVnetComment(p.comment);
      if (h === null) throw new Error(`${path}#${p.index}: no vnet comment`);
      out.push({ name: `${path}#${p.index}`, hdr: h, frame: p.data.slice() });
    }
  } finally {
    r.close();
  }
  return out;
}

export function readFrames(path: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const r = openCapture(path);
  try {
    for (const p of r) out.push(p.data.slice());
  } finally {
    r.close();
  }
  return out;
}

/** Builds every fixture class into `dir`; returns the classes with their kernel results. */
export async function makeFixtures(
  dir: string,
  seed: number,
): Promise<{ cls: FixtureClass; results: CaseResult[] }[]> {
  const recs = await recordLinuxGso({
    tcp4Bytes: 20000,
    tcp6Bytes: 12000,
    uso: [
      [3000, 1000],
      [2500, 1200],
    ],
  });
  const classes = [...linuxClasses(recs), ...generatedClasses(seed, 5, 4000)];
  const session = new OracleSession();
  session.start();
  try {
    const done: { cls: FixtureClass; results: CaseResult[] }[] = [];
    for (const cls of classes) {
      const results = await session.run(cls.cases.map((c) => tapRecord(c.hdr, c.frame)));
      writeSuper(join(dir, `${cls.name}.pcapng`), cls.cases);
      writeKernel(join(dir, `${cls.name}.kernel.pcap`), results);
      writeFileSync(join(dir, `${cls.name}.verdicts.txt`), verdictLines(results));
      done.push({ cls, results });
    }
    return done;
  } finally {
    session.stop();
  }
}
