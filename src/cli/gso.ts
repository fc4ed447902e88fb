// `ptnet-ts gso IN OUT.pcap`: every packet of IN (pcap or pcapng) whose comment is a vnet comment
// is segmented or checksum-completed exactly as Linux does after a TAP write (src/tso); other
// packets are copied. A packet Linux would refuse (write() EINVAL) or drop yields no output and
// one stderr line `packet INDEX: CODE (einval|dropped)`; the exit code is then 1. Exit 2 on a
// usage error or an unreadable/malformed file.
import { closeSync, openSync } from 'node:fs';
import {
  LINKTYPE_ETHERNET,
  PcapError,
  PcapWriter,
  openCapture,
  parseVnetComment,
  type CaptureReader,
} from '../pcap/index.ts';
import { SegmentList, TsoError, gsoSegment } from '../tso/index.ts';
import { parseOrExit } from './usage.ts';

const USAGE = 'usage: ptnet-ts gso IN.pcapng OUT.pcap';

function parse(args: string[]): { inFile: string; outFile: string } | string {
  const [inFile, outFile, ...extra] = args;
  if (inFile === undefined || outFile === undefined || extra.length > 0) return 'needs IN and OUT';
  return { inFile, outFile };
}

export async function run(args: string[]): Promise<number> {
  const o = parseOrExit('gso', USAGE, args, parse);
  if (typeof o === 'number') return o;
  const { inFile, outFile } = o;
  let reader: CaptureReader | undefined;
  let fd = -1;
  let rejected = 0;
  let index = -1;
  try {
    reader = openCapture(inFile);
    fd = openSync(outFile, 'w');
    let writer: PcapWriter | undefined;
    let linktype = -1;
    const segs = new SegmentList();
    for (let p = reader.read(); p !== null; p = reader.read()) {
      index = p.index;
      if (writer === undefined) {
        linktype = p.linktype;
        writer = new PcapWriter(fd, { linktype });
      } else if (p.linktype !== linktype) {
        // A pcap file has one link type for all its records.
        process.stderr.write(`ptnet-ts gso: packet ${p.index}: link type ${p.linktype} after ${linktype}\n`);
        return 2;
      }
      let h;
      try {
        h = p.comment === null || p.linktype !== LINKTYPE_ETHERNET ? null : parseVnetComment(p.comment);
      } catch (e) {
        if (!(e instanceof PcapError)) throw e;
        process.stderr.write(`packet ${p.index}: ${e.code} (bad comment)\n`);
        rejected++;
        continue;
      }
      if (h === null) {
        writer.write(p.data, p.tsSec, p.tsNsec, p.origlen);
        continue;
      }
      try {
        gsoSegment(h, p.data, segs);
      } catch (e) {
        if (!(e instanceof TsoError)) throw e;
        process.stderr.write(
          `packet ${p.index}: ${e.code} (${e.verdict === 'reject' ? 'einval' : 'dropped'})\n`,
        );
        rejected++;
        continue;
      }
      for (let i = 0; i < segs.count; i++) {
        const s = segs.data.subarray(segs.start(i), segs.end(i));
        writer.write(s, p.tsSec, p.tsNsec);
      }
    }
    (writer ?? new PcapWriter(fd)).flush();
  } catch (e) {
    if (!(e instanceof PcapError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
    // The writer refuses a packet the output cannot hold (a pcap record has u32 seconds; a pcapng
    // input can carry later or earlier times): name the input packet, the offset is OUT's.
    const where = e instanceof PcapError && e.code === 'UNREPRESENTABLE' ? `packet ${index}: ` : '';
    process.stderr.write(`ptnet-ts gso: ${where}${(e as Error).message}\n`);
    return 2;
  } finally {
    reader?.close();
    if (fd >= 0) closeSync(fd);
  }
  return rejected > 0 ? 1 : 0;
}
