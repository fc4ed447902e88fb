// `ptnet-ts pcap dump|verify FILE [--json]`: one line per packet, for people or (with --json, one
// JSON object per line) for other tools. Exit 0; verify exits 1 when a checksum is bad; both exit 2
// with one line on stderr for a usage error or an unreadable/malformed file, after printing the
// packets read before the fault.
import { writeSync } from 'node:fs';
import { PcapError, openCapture, type CaptureReader, type CapturePacket } from '../pcap/index.ts';
import { verifyPacket, type Verdicts } from './pcap-verify.ts';
import { fail, parseCommand, type CommandSpec } from './usage.ts';

const USAGE = `usage: ptnet-ts pcap dump|verify FILE [--json]
  dump: one line per packet (index, interface, linktype, time, caplen, origlen, comment);
  --json: one object per line, with the pcapng section. verify: checksum verdicts per packet
  (good, bad, partial). FILE "-" reads standard input.
  Exit 0 ok, 1 a bad checksum (verify), 2 a usage error or a malformed file (one line on stderr,
  a JSON object with --json, after the packets read before the fault).`;

/** Line output through writeSync in 64 KiB batches; stops quietly when the reader goes away. */
class Out {
  private parts: string[] = [];
  private size = 0;
  closed = false;

  line(s: string): void {
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    if (this.size >= 65536) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0 || this.closed) return;
    const bytes = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.size = 0;
    let done = 0;
    while (done < bytes.length) {
      try {
        done += writeSync(1, bytes, done, bytes.length - done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // A parent may hand us a non-blocking pipe: wait for room instead of failing.
        if (code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, 1);
          continue;
        }
        if (code !== 'EPIPE') throw e;
        this.closed = true; // e.g. piped into `head`
        return;
      }
    }
  }
}

/** A word to Atomics.wait on: a synchronous 1 ms sleep. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function dumpLine(p: CapturePacket, json: boolean): string {
  if (json) {
    return JSON.stringify({
      index: p.index,
      // The Interface ID the file writes, per section (as tshark's frame.interface_id): two
      // sections may each have an interface 0, told apart by `section`.
      interface: p.interfaceId,
      section: p.section,
      linktype: p.linktype,
      ts: p.ts,
      caplen: p.caplen,
      origlen: p.origlen,
      comment: p.comment,
    });
  }
  const comment = p.comment === null ? '-' : JSON.stringify(p.comment);
  return `${p.index}\t${p.interfaceId}\t${p.linktype}\t${p.ts}\t${p.caplen}\t${p.origlen}\t${comment}`;
}

function verifyLine(index: number, v: Verdicts, json: boolean): string {
  if (json) return JSON.stringify({ index, ...v });
  const items = Object.entries(v).map(([k, x]) => `${k}=${x}`);
  return `${index}\t${items.length === 0 ? '-' : items.join(' ')}`;
}

const SPEC: CommandSpec<{ cmd: 'dump' | 'verify'; file: string; json: boolean }> = {
  cmd: 'pcap',
  usage: USAGE,
  options: { json: { type: 'boolean' } },
  build(values, positionals) {
    const [cmd, file, ...extra] = positionals;
    if (cmd !== 'dump' && cmd !== 'verify') return 'the first argument is dump or verify';
    if (file === undefined) return `${cmd} needs FILE`;
    if (extra.length > 0) return `unexpected argument ${JSON.stringify(extra[0])}`;
    return { cmd, file, json: values.json === true };
  },
};

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, args);
  if (typeof parsed === 'number') return parsed;
  const { cli } = parsed;
  const { cmd, file, json } = parsed.o;
  const out = new Out();
  let reader: CaptureReader | undefined;
  let anyBad = false;
  try {
    reader = openCapture(file === '-' ? 0 : file);
    const verdicts: Verdicts = {};
    for (let p = reader.read(); p !== null && !out.closed; p = reader.read()) {
      if (cmd === 'dump') out.line(dumpLine(p, json));
      else {
        verifyPacket(p, verdicts);
        if (Object.values(verdicts).includes('bad')) anyBad = true;
        out.line(verifyLine(p.index, verdicts, json));
      }
    }
  } catch (e) {
    out.flush();
    if (!(e instanceof PcapError)) throw e;
    // The packets before the fault are printed; the fault is the last word, with its offset.
    return fail(cli, e.code, `${file}: ${e.message}`, { file, offset: e.offset });
  } finally {
    reader?.close();
  }
  out.flush();
  return anyBad ? 1 : 0;
}
