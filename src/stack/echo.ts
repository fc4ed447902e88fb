// What ping needs on both families: the data of an echo request, and the table of echoes in
// flight keyed by identifier and sequence number, each with its timeout.
import { getF64, ICMP_HLEN, setF64 } from '../wire/index.ts';
import { NetError, StackError } from './errors.ts';
import type { TimerQueue } from './timer.ts';

/**
 * Echo data behind the 8-byte ICMP header at b[l4]: the send time (a host-order double, read back
 * only by this host to compute the round trip), then a byte ramp, as ping(8) fills it.
 */
export function fillEchoData(b: Uint8Array, l4: number, size: number, now: number): void {
  setF64(b, l4 + ICMP_HLEN, now);
  for (let i = 8; i < size; i++) b[l4 + ICMP_HLEN + i] = i & 0xff;
}

/** Echo requests in flight (sequence 1 each, one identifier per request). */
export class EchoWaiters {
  private readonly waiters = new Map<number, (rtt: number) => void>();
  private ident = 1;

  constructor(private readonly timers: TimerQueue) {}

  /**
   * Opens the next echo: `send(ident)` builds and sends the request and returns false when no
   * buffer was free (the promise then rejects with STACK_FULL). Resolves with the round-trip time
   * in ms, or rejects with ETIMEDOUT after `timeout` ms.
   */
  open(timeout: number, send: (ident: number) => boolean): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const ident = this.ident;
      this.ident = (ident + 1) & 0xffff;
      const key = ((ident << 16) | 1) >>> 0;
      const timer = this.timers.timer(() => {
        this.waiters.delete(key);
        reject(new NetError('ETIMEDOUT', 'ping'));
      });
      this.waiters.set(key, (rtt) => {
        timer.cancel();
        resolve(rtt);
      });
      timer.arm(timeout);
      if (send(ident)) return;
      timer.cancel();
      this.waiters.delete(key);
      reject(new StackError('STACK_FULL', 'no packet buffer for ping'));
    });
  }

  /** An echo reply (ident, seq) whose data starts at buf[dataOff] and holds `dataLen` bytes. */
  reply(ident: number, seq: number, buf: Uint8Array, dataOff: number, dataLen: number): void {
    const key = ((ident << 16) | seq) >>> 0;
    const w = this.waiters.get(key);
    if (w === undefined || dataLen < 8) return;
    this.waiters.delete(key);
    w(this.timers.now() - getF64(buf, dataOff));
  }
}
