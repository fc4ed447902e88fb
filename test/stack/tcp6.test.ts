// TCP over IPv6: two IPv6 TCP layers joined by a fake IPv6 output (no IP layer), checking the
// IPv6 pseudo-header checksum, demultiplexing on 16-byte addresses and a transfer under loss.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Mempool, type Mbuf } from '../../src/mbuf/index.ts';
import { parseIpv6, pseudoSum } from '../../src/wire/index.ts';
import {
  IpPairScratch,
  Tcp,
  VirtualClock,
  type IpPair,
  type L3Output,
  type Tcb,
  type TcbUser,
} from '../../src/stack/index.ts';
import { randomBytesSeeded } from './harness.ts';

const A6 = parseIpv6('fd00::1');
const B6 = parseIpv6('fd00::2');

/** A family-6 L3Output with no IP layer: it queues segments with their addresses for the peer. */
class FakeIp6 implements L3Output {
  readonly family = 6;
  readonly l4Offset = 14 + 40;
  readonly ipHeaderLen = 40;
  readonly l4Mtu = 1500 - 40;
  readonly inlineMax = 2048;
  readonly large = new Uint8Array(0);
  l4PathMtu(): number {
    return 1500 - 40;
  }
  readonly txCsum = false;
  readonly tso = false;
  peer!: Tcp;
  sent = 0;
  dropEvery = 0;
  readonly q: [Mbuf, IpPairScratch, number][] = [];
  constructor(readonly pool: Mempool) {}
  pseudo(p: IpPair, proto: number, l4Len: number): number {
    return pseudoSum(p.laddr6, p.raddr6, proto, l4Len);
  }
  selectSource(): null {
    return null;
  }
  isBroadcast(): boolean {
    return false;
  }
  allocL4(): Mbuf | null {
    return this.pool.alloc();
  }
  outputLarge(): boolean {
    return false;
  }
  output(m: Mbuf, p: IpPair, _nh: number, l4Len: number): void {
    if (this.dropEvery > 0 && ++this.sent % this.dropEvery === 0) {
      m.free();
      return;
    }
    // As the peer sees it: its local address is our remote one.
    const seen = new IpPairScratch();
    seen.laddr6.set(p.raddr6);
    seen.raddr6.set(p.laddr6);
    this.q.push([m, seen, l4Len]);
  }
  /** Delivers everything queued; returns how many. */
  flush(): number {
    let n = 0;
    while (this.q.length > 0) {
      const [m, p, len] = this.q.shift()!;
      this.peer.input(this.pool.data, m.dataOffset + this.l4Offset, len, p, false);
      m.free();
      n++;
    }
    return n;
  }
}

function pair6(l: Uint8Array, r: Uint8Array): IpPairScratch {
  const p = new IpPairScratch();
  p.laddr6.set(l);
  p.raddr6.set(r);
  return p;
}

class Sink implements TcbUser {
  readonly chunks: Uint8Array[] = [];
  fin = false;
  connected = false;
  constructor(private readonly t: () => Tcb) {}
  onConnect(): void {
    this.connected = true;
  }
  onData(): void {
    const r = this.t().rcv;
    for (let b = r.read(Infinity); b !== null; b = r.read(Infinity)) this.chunks.push(b);
    this.t().onUserRead();
  }
  onPeerFin(): void {
    this.fin = true;
  }
  onWritable(): void {}
  onClose(): void {}
}

function setup() {
  const clock = new VirtualClock(0);
  const pool = new Mempool({ segments: 2048 });
  const ipa = new FakeIp6(pool);
  const ipb = new FakeIp6(pool);
  const a = new Tcp(clock.timers, ipa, new Uint8Array(32));
  const b = new Tcp(clock.timers, ipb, new Uint8Array(32).fill(3));
  ipa.peer = b;
  ipb.peer = a;
  const run = (until: () => boolean): void => {
    for (let i = 0; i < 100000 && !until(); i++) {
      if (ipa.flush() + ipb.flush() === 0) {
        const d = clock.timers.nextDeadline();
        clock.advance(d === Infinity ? 10 : Math.max(0, d - clock.now()));
      }
    }
    if (!until()) throw new Error('stalled');
  };
  return { clock, a, b, ipa, ipb, run };
}

describe('TCP over IPv6', () => {
  it('handshake and data on 16-byte addresses, RST for a closed port', () => {
    const { a, b, run } = setup();
    let server: Tcb | null = null;
    let sink: Sink | null = null;
    b.listen(80, 8, {}, (t) => {
      server = t;
      sink = new Sink(() => t);
      t.user = sink;
    });
    const c = a.connect(pair6(A6, B6), 40000, 80, {});
    const cs = new Sink(() => c);
    c.user = cs;
    run(() => cs.connected && server !== null);
    expect(server!.family).toBe(6);
    expect(Array.from(server!.raddr6)).toEqual(Array.from(A6));
    expect(a.lookup(pair6(A6, B6), 40000, 80)).toBe(c);
    const msg = new TextEncoder().encode('over IPv6');
    c.write(msg, 0, msg.length);
    run(() => sink!.chunks.length > 0);
    expect(new TextDecoder().decode(sink!.chunks[0])).toBe('over IPv6');
    expect(b.counters.csumErrors).toBe(0);
    const d = a.connect(pair6(A6, B6), 40001, 81, {});
    const ds = new Sink(() => d);
    d.user = ds;
    run(() => d.state === 'CLOSED');
    expect(d.errorCode).toBe('ECONNREFUSED');
  });

  it('moves 512 KiB intact with every 9th segment lost', () => {
    const { a, b, ipa, ipb, run } = setup();
    ipa.dropEvery = 9;
    ipb.dropEvery = 9;
    let sink: Sink | null = null;
    b.listen(80, 8, {}, (t) => {
      sink = new Sink(() => t);
      t.user = sink;
    });
    const c = a.connect(pair6(A6, B6), 40000, 80, {});
    c.user = new Sink(() => c);
    const data = randomBytesSeeded(512 * 1024, 9);
    let off = 0;
    run(() => {
      if (c.state === 'ESTABLISHED' && off < data.length) off += c.write(data, off, data.length - off);
      if (off === data.length && !c.finQueued) c.shutdown();
      return sink !== null && sink.fin;
    });
    const got = Buffer.concat(sink!.chunks);
    expect(createHash('sha256').update(got).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
    expect(a.counters.retransSegs).toBeGreaterThan(0);
  });
});
