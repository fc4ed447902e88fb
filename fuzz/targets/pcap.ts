// pcap/pcapng reader and writer: any bytes read as a capture end in packets or a PcapError; every
// packet read is written again (classic pcap, nanosecond) and must read back identical, or be
// refused by the writer with a PcapError.
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcapError, PcapWriter, openCapture, type CaptureReader } from '../../src/pcap/index.ts';

export const maxLen = 8192;
const IN = `/dev/shm/ptnet-fuzz-pcap-in-${process.pid}`;
const OUT = `/dev/shm/ptnet-fuzz-pcap-out-${process.pid}`;

/** The small tool-made captures of fixtures/pcap. */
export function seeds(): Uint8Array[] {
  const dir = 'fixtures/pcap';
  return readdirSync(dir)
    .filter((f) => f.startsWith('tool-'))
    .map((f) => new Uint8Array(readFileSync(join(dir, f))))
    .filter((b) => b.length <= maxLen);
}

interface Rec {
  data: Uint8Array;
  tsSec: number;
  tsNsec: number;
  origlen: number;
}

export function fuzz(data: Uint8Array): void {
  writeFileSync(IN, data);
  const recs: Rec[] = [];
  let linktype = -1;
  let r: CaptureReader | undefined;
  try {
    r = openCapture(IN);
    for (const p of r) {
      if (linktype === -1) linktype = p.linktype;
      if (p.linktype === linktype)
        recs.push({ data: p.data.slice(), tsSec: p.tsSec, tsNsec: p.tsNsec, origlen: p.origlen });
    }
  } catch (e) {
    if (!(e instanceof PcapError)) throw e;
  } finally {
    r?.close();
  }
  if (recs.length === 0) return;
  const fd = openSync(OUT, 'w');
  const written: Rec[] = [];
  try {
    const w = new PcapWriter(fd, { nanosecond: true, linktype });
    for (const rec of recs) {
      try {
        w.write(rec.data, rec.tsSec, rec.tsNsec, rec.origlen);
        written.push(rec);
      } catch (e) {
        if (!(e instanceof PcapError)) throw e;
      }
    }
    w.flush();
  } finally {
    closeSync(fd);
  }
  const back = openCapture(OUT);
  try {
    let i = 0;
    for (const p of back) {
      const want = written[i++];
      if (want === undefined) throw new Error('round trip: more packets read back than written');
      if (p.tsSec !== want.tsSec || p.tsNsec !== want.tsNsec || p.origlen !== want.origlen)
        throw new Error(`round trip: packet ${i - 1} header changed`);
      if (Buffer.compare(p.data, want.data) !== 0)
        throw new Error(`round trip: packet ${i - 1} bytes changed`);
    }
    if (i !== written.length) throw new Error(`round trip: ${written.length} written, ${i} read back`);
  } finally {
    back.close();
  }
}
