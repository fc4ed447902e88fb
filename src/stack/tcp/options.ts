// TCP option parsing for the receive path, as lenient as Linux's tcp_parse_options(): the walk
// stops at the first malformed option (a length below 2, or one running past the header) and the
// segment is accepted with the options parsed before it. A known option with a wrong length
// (a 6-byte timestamp) is skipped and the walk goes on. The strict wire parser
// (TcpView.parseOptions) rejects the whole list instead, which left a peer with one odd option
// unable to connect at all. TSvals are read in the stack's signed form (seq.ts); SACK edges land in
// the options' Uint32Arrays, which hold the same bits unsigned, and Tcb.takeSack reads them back
// signed.
import { TcpOptKind, get16, getS32, type TcpOptions } from '../../wire/index.ts';

/**
 * Parses the options in buf[off, end) into `out` (cleared first). Returns -1 when the list was
 * sound, else the offset of the malformed option where parsing stopped (also in out.errorOffset).
 * Reads nothing outside [off, end); allocates nothing.
 */
export function parseTcpOptionsLenient(buf: Uint8Array, off: number, end: number, out: TcpOptions): number {
  out.clear();
  let o = off;
  while (o < end) {
    const k = buf[o]!;
    if (k === TcpOptKind.EOL) return -1;
    if (k === TcpOptKind.NOP) {
      o++;
      continue;
    }
    // tcp_parse_options: "if (length < 2) return;", "if (opsize < 2) return; /* silly options */",
    // "if (opsize > length) return; /* don't parse partial options */".
    if (o + 2 > end) break;
    const l = buf[o + 1]!;
    if (l < 2 || o + l > end) break;
    switch (k) {
      case TcpOptKind.MSS:
        if (l === 4) out.mss = get16(buf, o + 2);
        else out.unknownCount++;
        break;
      case TcpOptKind.WSCALE:
        if (l === 3) out.wscale = buf[o + 2]!;
        else out.unknownCount++;
        break;
      case TcpOptKind.SACK_PERMITTED:
        if (l === 2) out.sackPermitted = true;
        else out.unknownCount++;
        break;
      case TcpOptKind.TIMESTAMP:
        if (l === 10) {
          out.hasTimestamp = true;
          out.tsVal = getS32(buf, o + 2);
          out.tsEcr = getS32(buf, o + 6);
        } else out.unknownCount++;
        break;
      case TcpOptKind.SACK:
        if (l >= 10 && (l - 2) % 8 === 0 && l <= 34) {
          const n = (l - 2) / 8;
          for (let i = 0; i < n; i++) {
            out.sackLeft[i] = getS32(buf, o + 2 + 8 * i);
            out.sackRight[i] = getS32(buf, o + 6 + 8 * i);
          }
          out.sackCount = n;
        } else out.unknownCount++;
        break;
      default:
        out.unknownCount++;
        break;
    }
    o += l;
  }
  if (o >= end) return -1;
  out.errorOffset = o;
  return o;
}
