// `ptnet-ts gro IN OUT.pcapng [--burst N]`: coalesces the TCP segments of IN (Ethernet, pcap or
// pcapng) as Linux GRO does (src/tso GroEngine) and writes every resulting frame with its
// virtio-net header as a vnet comment, i.e. what a TAP reader would get. GRO flushes after every
// N input packets (default 64, the NAPI budget) and at the end. Exit 2 on a usage error, an
// unreadable/malformed file, or a link type other than Ethernet.
import { closeSync, openSync } from 'node:fs';
import {
  LINKTYPE_ETHERNET,
  PcapError,
  PcapngWriter,
  formatVnetComment,
  openCapture,
  type CaptureReader,
} from '../pcap/index.ts';
import { GroEngine, GroOutput, type GsoHeader } from '../tso/index.ts';
import { parseOrExit } from './usage.ts';

const USAGE = 'usage: ptnet-ts gro IN.pcap OUT.pcapng [--burst N]';

function parse(args: string[]): { inFile: string; outFile: string; burst: number } | string {
  let burst = 64;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--burst') {
      burst = Number(args[++i]);
      if (!Number.isInteger(burst) || burst < 1) return '--burst needs a whole number of packets >= 1';
    } else files.push(a);
  }
  const [inFile, outFile] = files;
  if (inFile === undefined || outFile === undefined || files.length !== 2) return 'needs IN and OUT';
  return { inFile, outFile, burst };
}

export async function run(args: string[]): Promise<number> {
  const o = parseOrExit('gro', USAGE, args, parse);
  if (typeof o === 'number') return o;
  const { inFile, outFile, burst } = o;
  let reader: CaptureReader | undefined;
  let fd = -1;
  try {
    reader = openCapture(inFile);
    fd = openSync(outFile, 'w');
    const w = new PcapngWriter(fd);
    const id = w.addInterface({ linktype: LINKTYPE_ETHERNET });
    const gro = new GroEngine();
    const out = new GroOutput();
    const h: GsoHeader = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
    let tsSec = 0;
    let tsNsec = 0;
    const drain = (): void => {
      for (let i = 0; i < out.count; i++) {
        const f = out.data.subarray(out.start(i), out.start(i) + out.length(i));
        w.write(id, f, tsSec, tsNsec, f.length, formatVnetComment(out.header(i, h)));
      }
      out.clear();
    };
    out.clear();
    let n = 0;
    for (let p = reader.read(); p !== null; p = reader.read()) {
      if (p.linktype !== LINKTYPE_ETHERNET) {
        process.stderr.write(`ptnet-ts gro: packet ${p.index}: link type ${p.linktype}, not Ethernet\n`);
        return 2;
      }
      tsSec = p.tsSec;
      tsNsec = p.tsNsec;
      gro.receive(p.data, out);
      if (++n % burst === 0) gro.flush(out);
      drain();
    }
    gro.flush(out);
    drain();
    w.flush();
  } catch (e) {
    if (!(e instanceof PcapError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
    process.stderr.write(`ptnet-ts gro: ${(e as Error).message}\n`);
    return 2;
  } finally {
    reader?.close();
    if (fd >= 0) closeSync(fd);
  }
  return 0;
}
