// TCP over IPv6: two IPv6 TCP layers joined by a fake IPv6 output (no IP layer), checking the
// IPv6 pseudo-header checksum, demultiplexing on 16-byte addresses and a transfer under loss.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Mempool, type Mbuf } from '../../src/mbuf/index.ts';
import { parseIpv6 } from '../../src/wire/index.ts';
import { Tcp, VirtualClock, type Ipv6TcpOutput, type Tcb, type TcbUser } from '../../src/stack/index.ts';
import { randomBytesSeeded } from './harness.ts';

const A6 = parseIpv6('fd00::1');
const B6 = parseIpv6('fd00::2');

class FakeIp6 implements Ipv6TcpOutput {
  readonly l4Offset = 14 + 40;
  l4PathMtu(): number {
    return 1500 - 40;
  }
  readonly txCsum = false;
  readonly tso = false;
  peer!: Tcp;
  sent = 0;
  dropEvery = 0;
  readonly q: [Mbuf, Uint8Array, Uint8Array, number][] = [];
  constructor(readonly pool: Mempool) {}
  output(m: Mbuf, src: Uint8Array, dst: Uint8Array, _nh: number, l4Len: number): void {
    if (this.dropEvery > 0 && ++this.sent % this.dropEvery === 0) {
      m.free();
      return;
    }
    this.q.push([m, src.slice(), dst.slice(), l4Len]);
  }
  /** Delivers everything queued; returns how many. */
  flush(): number {
    let n = 0;
    while (this.q.length > 0) {
      const [m, src, dst, len] = this.q.shift()!;
      this.peer.input6(this.pool.data, m.dataOffset + this.l4Offset, len, src, dst, false);
      m.free();
      n++;
    }
    return n;
  }
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
    const b = new Uint8Array(r.readable);
    r.read(b, 0, b.length);
    this.chunks.push(b);
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
  const a = new Tcp(clock.timers, ipa, new Uint8Array(32), 6);
  const b = new Tcp(clock.timers, ipb, new Uint8Array(32).fill(3), 6);
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
    const c = a.connect6(A6, 40000, B6, 80, {});
    const cs = new Sink(() => c);
    c.user = cs;
    run(() => cs.connected && server !== null);
    expect(server!.family).toBe(6);
    expect(Array.from(server!.raddr6)).toEqual(Array.from(A6));
    expect(a.lookup6(A6, 40000, B6, 80)).toBe(c);
    const msg = new TextEncoder().encode('over IPv6');
    c.write(msg, 0, msg.length);
    run(() => sink!.chunks.length > 0);
    expect(new TextDecoder().decode(sink!.chunks[0])).toBe('over IPv6');
    expect(b.counters.csumErrors).toBe(0);
    const d = a.connect6(A6, 40001, B6, 81, {});
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
    const c = a.connect6(A6, 40000, B6, 80, {});
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
