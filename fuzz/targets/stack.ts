// The stack's input path: frames go into a booted stack (one end of the in-memory NetIf pair, with
// a TCP listener on 80 and a UDP socket on 53) and the virtual clock moves. The input is a list of
// frames, each behind a 2-byte big-endian length, the last byte of each choosing how far time
// moves. A crash is an exception out of the stack, or one the datapath caught and counted
// (rxExceptions), or packet buffers that are never given back.
import type { MemNetIf } from '../../src/netif/index.ts';
import type { Stack } from '../../src/stack/index.ts';
import { makePair } from '../../test/stack/harness.ts';

export const maxLen = 16_384;

const p = makePair();
p.b.net.createServer((s) => s.on('data', () => {}).on('error', () => {})).listen(80);
const u = p.b.net.createSocket();
u.on('message', () => {});
u.on('error', () => {});
u.bind(53);
p.clock.advance(10);
/** The wire side of stack b: what b sends lands here (a's interface), and is freed, not answered. */
const wire = p.la.inner as MemNetIf;
const drain = (): void => {
  while (wire.poll(256, (m) => m.free()) === 256);
};

function feed(to: Stack, frame: Uint8Array): void {
  const m = to.pool.alloc();
  if (m === null) throw new Error('stack pool exhausted: buffers leak');
  m.append(frame);
  to.input(m);
}

/** An ARP request for 10.0.0.2 and a TCP SYN to port 80, each behind its length prefix. */
export function seeds(): Uint8Array[] {
  const arp = new Uint8Array(42);
  arp.fill(0xff, 0, 6);
  arp.set([2, 0, 0, 0, 0, 1, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1], 6);
  arp.set([10, 0, 0, 2], 38);
  const syn = new Uint8Array(14 + 20 + 20);
  syn.set(p.b.netif.mac, 0);
  syn.set([2, 0, 0, 0, 0, 1, 8, 0, 0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 6);
  syn.set([0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff], 34);
  const withLen = (f: Uint8Array): Uint8Array => {
    const b = new Uint8Array(f.length + 3);
    b[0] = f.length >> 8;
    b[1] = f.length & 0xff;
    b.set(f, 2);
    b[f.length + 2] = 5;
    return b;
  };
  const both = new Uint8Array([...withLen(arp), ...withLen(syn)]);
  return [withLen(arp), withLen(syn), both];
}

export function fuzz(data: Uint8Array): void {
  const before = p.b.counters.rxExceptions;
  let o = 0;
  while (o + 2 <= data.length) {
    const len = (data[o]! << 8) | data[o + 1]!;
    const frame = data.subarray(o + 2, Math.min(data.length, o + 2 + len));
    o += 2 + frame.length;
    feed(p.b, frame);
    const step = data[o] ?? 0;
    o++;
    p.clock.advance(step * 8);
    drain();
  }
  if (p.b.counters.rxExceptions !== before) throw new Error('the stack caught an exception in its datapath');
  // Every buffer the input made the stack hold (fragments awaiting reassembly, answers awaiting
  // ARP, the TX backlog) comes back once their timers have run out: 5 virtual minutes cover the
  // longest (SYN-RECEIVED retries, reassembly, TIME-WAIT). What stays held is a leak.
  p.clock.advance(300_000);
  drain();
  if (p.b.pool.inUse !== 0)
    throw new Error(`${p.b.pool.inUse} packet buffers still held 5 virtual minutes later`);
}
