// `ptnet-ts gro IN OUT.pcapng [--burst N]`: coalesces the TCP segments of IN (Ethernet, pcap or
// pcapng) as Linux GRO does (src/tso GroEngine) and writes every resulting frame with its
// virtio-net header as a vnet comment, i.e. what a TAP reader would get. GRO flushes after every
// N input packets (default 64, the NAPI budget) and at the end. Exit 2 on a usage error, an
// unreadable/malformed file, or a link type other than Ethernet; OUT is then left as it was.
import {
  LINKTYPE_ETHERNET,
  PcapError,
  PcapngWriter,
  formatVnetComment,
  openCapture,
  type CaptureReader,
} from '../pcap/index.ts';
import { GroEngine, GroOutput, type GsoHeader } from '../tso/index.ts';
import { AtomicOutput } from './output.ts';
import { fail, numberOption, parseCommand, type CommandSpec } from './usage.ts';

const USAGE = `usage: ptnet-ts gro IN.pcap OUT.pcapng [--burst N]
  Coalesces the TCP segments of IN as Linux GRO does and writes the frames with "vnet ..."
  comments, as a TAP reader gets them. GRO flushes every N packets (default 64) and at the end.
  Exit 0 ok; 2 on a usage error, a malformed IN or a link type other than Ethernet (OUT is then
  not written).`;

const SPEC: CommandSpec<{ inFile: string; outFile: string; burst: number }> = {
  cmd: 'gro',
  usage: USAGE,
  options: { burst: { type: 'string' } },
  build(values, positionals) {
    const burst = numberOption('--burst', values.burst, 64, 1, 1 << 20, true);
    if (typeof burst === 'string') return burst;
    const [inFile, outFile, ...extra] = positionals;
    if (inFile === undefined || outFile === undefined) return 'needs IN and OUT';
    if (extra.length > 0) return `unexpected argument ${JSON.stringify(extra[0])}`;
    return { inFile, outFile, burst };
  },
};

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, args);
  if (typeof parsed === 'number') return parsed;
  const { cli } = parsed;
  const { inFile, outFile, burst } = parsed.o;
  let reader: CaptureReader | undefined;
  let out: AtomicOutput | undefined;
  try {
    reader = openCapture(inFile);
    out = new AtomicOutput(outFile);
    const w = new PcapngWriter(out.fd);
    const id = w.addInterface({ linktype: LINKTYPE_ETHERNET });
    const gro = new GroEngine();
    const frames = new GroOutput();
    const h: GsoHeader = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
    let tsSec = 0;
    let tsNsec = 0;
    const drain = (): void => {
      for (let i = 0; i < frames.count; i++) {
        const f = frames.frame(i);
        w.write(id, f, tsSec, tsNsec, f.length, formatVnetComment(frames.header(i, h)));
      }
      frames.clear();
    };
    frames.clear();
    let n = 0;
    for (let p = reader.read(); p !== null; p = reader.read()) {
      if (p.linktype !== LINKTYPE_ETHERNET) {
        return fail(cli, 'NOT_ETHERNET', `packet ${p.index}: link type ${p.linktype}, not Ethernet`);
      }
      tsSec = p.tsSec;
      tsNsec = p.tsNsec;
      gro.receive(p.data, frames);
      if (++n % burst === 0) gro.flush(frames);
      drain();
    }
    gro.flush(frames);
    drain();
    w.flush();
    out.commit();
  } catch (e) {
    if (e instanceof PcapError) return fail(cli, e.code, e.message, { offset: e.offset });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e;
    return fail(cli, code, (e as Error).message);
  } finally {
    reader?.close();
    out?.abort();
  }
  return 0;
}
