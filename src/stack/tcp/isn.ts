// RFC 6528 initial sequence numbers: ISN = M + F(localip, localport, remoteip, remoteport, key),
// M a 4 µs timer and F a keyed hash (the kernel's secure_tcp_seq() uses SipHash + a ns clock; here
// HMAC-SHA-256 from node:crypto, computed once per connection, never per packet).
import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../timer.ts';

export class IsnGenerator {
  private readonly key: Uint8Array;
  private readonly tuple = new Uint8Array(36);

  constructor(
    private readonly clock: Clock,
    key?: Uint8Array,
  ) {
    this.key = key ?? randomBytes(32);
  }

  /** F(): the first 32 bits of HMAC-SHA-256(key, laddr | lport | raddr | rport). Addresses are 4 or 16 bytes. */
  hash(laddr: Uint8Array, lport: number, raddr: Uint8Array, rport: number): number {
    const t = this.tuple;
    let o = 0;
    t.set(laddr, o);
    o += laddr.length;
    t[o++] = lport >>> 8;
    t[o++] = lport & 0xff;
    t.set(raddr, o);
    o += raddr.length;
    t[o++] = rport >>> 8;
    t[o++] = rport & 0xff;
    const d = createHmac('sha256', this.key).update(t.subarray(0, o)).digest();
    return d.readUInt32BE(0);
  }

  /** M: clock ms as 4 µs ticks, modulo 2^32 (RFC 6528 §3). */
  ticks(): number {
    return Math.floor(this.clock.now() * 250) % 0x100000000;
  }

  /** In the stack's signed form of sequence numbers (seq.ts). @mirrors secure_seq.c:secure_tcp_seq */
  isn(laddr: Uint8Array, lport: number, raddr: Uint8Array, rport: number): number {
    return (this.ticks() + this.hash(laddr, lport, raddr, rport)) | 0;
  }
}
