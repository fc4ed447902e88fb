// `ptnet-ts gso IN OUT.pcap`: every packet of IN (pcap or pcapng) whose comment is a vnet comment
// is segmented or checksum-completed exactly as Linux does after a TAP write (src/tso); other
// packets are copied. A packet Linux would refuse (write() EINVAL) or drop yields no output and
// one stderr line `packet INDEX: CODE (einval|dropped)`; the exit code is then 1. Exit 2 on a
// usage error, an unreadable/malformed IN, or a packet OUT cannot hold; OUT is then left as it
// was (AtomicOutput), never a 0-byte or partial file. OUT is a nanosecond pcap, so every output
// record carries its input packet's time exactly.
import {
  LINKTYPE_ETHERNET,
  PcapError,
  PcapWriter,
  openCapture,
  parseVnetComment,
  type CaptureReader,
} from '../pcap/index.ts';
import { SegmentList, TsoError, gsoSegment } from '../tso/index.ts';
import { AtomicOutput } from './output.ts';
import { fail, parseCommand, type CommandSpec } from './usage.ts';

const USAGE = `usage: ptnet-ts gso IN.pcapng OUT.pcap
  Segments (TSO/USO/UFO) or checksum-completes every packet of IN that carries a "vnet ..."
  comment exactly as Linux does after a TAP write; copies the others.
  Exit 0 ok; 1 when Linux would refuse or drop a packet (one line each on stderr, the others are
  written); 2 on a usage error, a malformed IN or a packet a pcap record cannot hold (OUT is then
  not written).`;

const SPEC: CommandSpec<{ inFile: string; outFile: string }> = {
  cmd: 'gso',
  usage: USAGE,
  options: {},
  build(_, positionals) {
    const [inFile, outFile, ...extra] = positionals;
    if (inFile === undefined || outFile === undefined) return 'needs IN and OUT';
    if (extra.length > 0) return `unexpected argument ${JSON.stringify(extra[0])}`;
    return { inFile, outFile };
  },
};

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, args);
  if (typeof parsed === 'number') return parsed;
  const { cli } = parsed;
  const { inFile, outFile } = parsed.o;
  let reader: CaptureReader | undefined;
  let out: AtomicOutput | undefined;
  let rejected = 0;
  let index = -1;
  try {
    reader = openCapture(inFile);
    out = new AtomicOutput(outFile);
    let writer: PcapWriter | undefined;
    let linktype = -1;
    const segs = new SegmentList();
    for (let p = reader.read(); p !== null; p = reader.read()) {
      index = p.index;
      if (writer === undefined) {
        linktype = p.linktype;
        // Nanosecond pcap: it holds every time the reader hands out (seconds 0..2^32-1, to the
        // nanosecond), so a record is either the input's time exactly or refused, never rounded.
        writer = new PcapWriter(out.fd, { linktype, nanosecond: true });
      } else if (p.linktype !== linktype) {
        // A pcap file has one link type for all its records.
        return fail(cli, 'LINKTYPE_CHANGE', `packet ${p.index}: link type ${p.linktype} after ${linktype}`);
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
    (writer ?? new PcapWriter(out.fd, { nanosecond: true })).flush();
    out.commit();
  } catch (e) {
    if (e instanceof PcapError) {
      // The writer refuses a packet the output cannot hold (a pcap record has u32 seconds; a
      // pcapng input can carry later or earlier times): name the input packet, the offset is OUT's.
      const where = e.code === 'UNREPRESENTABLE' ? `packet ${index}: ` : '';
      return fail(cli, e.code, `${where}${e.message}`, { offset: e.offset });
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    return fail(cli, code, (e as Error).message);
  } finally {
    reader?.close();
    out?.abort();
  }
  return rejected > 0 ? 1 : 0;
}
