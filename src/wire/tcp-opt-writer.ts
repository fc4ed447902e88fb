// Writes a TCP option list in place, in the order and padding the caller chooses (Linux's
// tcp_options_write lays options out as NOP-padded 32-bit words). Re-pointed per segment with
// reset(): nothing is allocated on the transmit path.
import { TcpOptKind } from './constants.ts';
import { set16, set32 } from './bytes.ts';

export class TcpOptionWriter {
  private buf: Uint8Array = new Uint8Array(0);
  /** Where the next option goes. */
  at = 0;

  /** Starts writing at buf[off]; the caller has sized the header for what it will write. */
  reset(buf: Uint8Array, off: number): this {
    this.buf = buf;
    this.at = off;
    return this;
  }

  nop(): this {
    this.buf[this.at++] = TcpOptKind.NOP;
    return this;
  }

  mss(v: number): this {
    const b = this.buf;
    b[this.at] = TcpOptKind.MSS;
    b[this.at + 1] = 4;
    set16(b, this.at + 2, v);
    this.at += 4;
    return this;
  }

  sackPermitted(): this {
    this.buf[this.at] = TcpOptKind.SACK_PERMITTED;
    this.buf[this.at + 1] = 2;
    this.at += 2;
    return this;
  }

  windowScale(shift: number): this {
    const b = this.buf;
    b[this.at] = TcpOptKind.WSCALE;
    b[this.at + 1] = 3;
    b[this.at + 2] = shift;
    this.at += 3;
    return this;
  }

  timestamp(tsVal: number, tsEcr: number): this {
    const b = this.buf;
    b[this.at] = TcpOptKind.TIMESTAMP;
    b[this.at + 1] = 10;
    set32(b, this.at + 2, tsVal);
    set32(b, this.at + 6, tsEcr);
    this.at += 10;
    return this;
  }

  /** n SACK blocks (left, right edge pairs) from edges[0, 2n), in either form (the same 32 bits). */
  sack(edges: Uint32Array | Int32Array, n: number): this {
    const b = this.buf;
    b[this.at] = TcpOptKind.SACK;
    b[this.at + 1] = 2 + 8 * n;
    let o = this.at + 2;
    for (let i = 0; i < 2 * n; i++, o += 4) set32(b, o, edges[i]!);
    this.at = o;
    return this;
  }
}
