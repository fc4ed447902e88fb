// Issue 14 item 2: a peer that closes (or shrinks) its window on a data segment, not in the
// handshake. RFC 9293 §3.10.7.4 window update (SND.WL2 <= SEG.ACK, a shrink to zero taken),
// §3.8.6.1 nothing past SND.UNA + SND.WND, zero-window probes with exponential backoff.
// Probes are Linux's tcp_xmit_probe_skb: no data, SEG.SEQ = SND.UNA - 1; with data in flight the
// retransmission that serves as the probe carries one byte.
import { describe, expect, it } from 'vitest';
import { TcpFlags } from '../../src/wire/index.ts';
import { handshake, type Conn, type Out } from './tcp-peer.ts';

const { ACK, PSH } = TcpFlags;
const REQ = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n');

const data = (o: Out[]): Out[] => o.filter((x) => x.len > 0);
const end = (o: Out): number => (o.seq + o.len) >>> 0;
const gaps = (o: Out[]): number[] => o.slice(1).map((x, i) => x.at - o[i]!.at);

/** The peer acknowledges everything b sends, with a wide window, until `total` bytes are ACKed. */
async function drain(c: Conn, total: number, rcvNxt: number): Promise<number> {
  let acked = c.ack;
  let got = 0;
  for (let i = 0; i < 2000 && ((acked - c.ack) | 0) < total; i++) {
    await c.peer.wait(20);
    for (const o of c.peer.take()) {
      if (o.len > 0 && ((o.seq - acked) | 0) <= 0 && ((end(o) - acked) | 0) > 0) {
        got += (end(o) - acked) | 0;
        acked = end(o);
      }
    }
    c.peer.send({ seq: rcvNxt, ack: acked, flags: ACK, window: 65535 });
  }
  return got;
}

describe('zero window opened on a data segment (issue 14 item 2)', () => {
  it('a request closing the window stops the response; probes are SND.UNA-1 with doubling intervals', async () => {
    const c = await handshake();
    const { peer } = c;
    const resp = new Uint8Array(65536).fill(7);
    c.s.on('data', () => c.s.write(resp));
    const t = c.s.tcb!;
    // Same SEQ and ACK as the handshake's ACK, window 0: SND.WL1 = SEG.SEQ, SND.WL2 = SEG.ACK.
    peer.send({ seq: c.seq, ack: c.ack, flags: ACK | PSH, window: 0, payload: REQ });
    const rcvNxt = c.seq + REQ.length;
    expect(t.sndWnd).toBe(0);
    await peer.wait(30_000);
    const out = peer.take();
    expect(data(out)).toEqual([]);
    expect(out[0]).toMatchObject({ flags: ACK, seq: c.ack, ack: rcvNxt, len: 0 });
    const probes = out.slice(1);
    expect(probes.length).toBeGreaterThanOrEqual(4);
    for (const pr of probes)
      expect(pr).toMatchObject({ flags: ACK, seq: (c.ack - 1) >>> 0, ack: rcvNxt, len: 0 });
    const g = gaps(probes);
    for (let i = 1; i < g.length; i++) expect(g[i]).toBe(2 * g[i - 1]!);
    expect(peer.p.b.tcp.counters.windowProbes).toBe(probes.length);
    // The peer answers a probe: still closed. Nothing is sent.
    peer.send({ seq: rcvNxt, ack: c.ack, flags: ACK, window: 0 });
    expect(peer.take()).toEqual([]);
    // It opens 3000 bytes: at most that much goes, all inside [SND.UNA, SND.UNA + 3000).
    peer.send({ seq: rcvNxt, ack: c.ack, flags: ACK, window: 3000 });
    await peer.wait(10);
    const d = data(peer.take());
    expect(d.length).toBeGreaterThan(0);
    for (const o of d) expect((end(o) - (c.ack + 3000)) | 0).toBeLessThanOrEqual(0);
    expect(t.persist).toBe(false);
    // Opened wide: the whole response arrives.
    const got = await drain(c, resp.length, rcvNxt);
    expect(got).toBe(resp.length);
  });

  it('an ACK sent while probing (for the peer’s data) carries SND.MAX, not the probe’s SND.UNA-1', async () => {
    const c = await handshake();
    const { peer } = c;
    const resp = new Uint8Array(20000).fill(7);
    let reqs = 0;
    c.s.on('data', () => {
      if (reqs++ === 0) c.s.write(resp);
    });
    peer.send({ seq: c.seq, ack: c.ack, flags: ACK | PSH, window: 0, payload: REQ });
    const t = c.s.tcb!;
    let rcvNxt = c.seq + REQ.length;
    // Until the first probe.
    for (let i = 0; i < 100 && peer.p.b.tcp.counters.windowProbes === 0; i++) await peer.wait(50);
    expect(t.persist).toBe(true);
    peer.take();
    peer.send({ seq: rcvNxt, ack: c.ack, flags: ACK | PSH, window: 0, payload: REQ });
    rcvNxt += REQ.length;
    await peer.wait(100);
    const acks = peer.take().filter((o) => o.ack === rcvNxt);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) expect(a).toMatchObject({ flags: ACK, seq: c.ack, len: 0 });
  });

  it('the window shrinks to zero under data in flight: the timer probes with one byte at SND.UNA, backing off', async () => {
    const c = await handshake();
    const { peer } = c;
    c.s.write(new Uint8Array(20000).fill(1));
    const first = data(peer.take());
    expect(first.length).toBeGreaterThan(1);
    const flightEnd = end(first[first.length - 1]!);
    // The first segment is ACKed and the window closes on that ACK.
    const una = (c.ack + first[0]!.len) >>> 0;
    peer.send({ seq: c.seq, ack: una, flags: ACK, window: 0 });
    expect(peer.take()).toEqual([]);
    await peer.wait(30_000);
    const probes = peer.take();
    expect(probes.length).toBeGreaterThanOrEqual(4);
    for (const pr of probes) expect(pr).toMatchObject({ flags: ACK | PSH, seq: una, len: 1 });
    const g = gaps(probes);
    for (let i = 1; i < g.length; i++) expect(g[i]).toBe(2 * g[i - 1]!);
    expect(c.s.tcb!.state).toBe('ESTABLISHED');
    // The peer held the whole first flight: it ACKs it and opens; the rest follows.
    peer.send({ seq: c.seq, ack: flightEnd, flags: ACK, window: 65535 });
    const got = await drain({ ...c, ack: flightEnd }, 20000 - ((flightEnd - c.ack) | 0), c.seq);
    expect(got).toBe(20000 - ((flightEnd - c.ack) | 0));
  });

  it('a peer that answers none of maxRetries probes is dead (ETIMEDOUT); one answering with a zero window is probed on', async () => {
    for (const alive of [false, true]) {
      const c = await handshake({ b: { tcp: { maxRetries: 5 } } });
      const { peer } = c;
      let err: string | null = null;
      c.s.on('error', (e: { code: string }) => (err = e.code));
      c.s.on('data', () => c.s.write(new Uint8Array(10000)));
      peer.send({ seq: c.seq, ack: c.ack, flags: ACK | PSH, window: 0, payload: REQ });
      const rcvNxt = c.seq + REQ.length;
      const cnt = peer.p.b.tcp.counters;
      for (let i = 0; i < 400 && err === null && cnt.windowProbes < 8; i++) {
        const before = cnt.windowProbes;
        await peer.wait(1000);
        // The live peer answers each probe: its window is still shut.
        if (alive && cnt.windowProbes > before) peer.send({ seq: rcvNxt, ack: c.ack, flags: ACK, window: 0 });
      }
      if (alive) {
        expect(err).toBeNull();
        expect(cnt.windowProbes).toBe(8);
        expect(c.s.tcb!.state).toBe('ESTABLISHED');
      } else {
        expect(err).toBe('ETIMEDOUT');
        expect(cnt.windowProbes).toBe(5);
      }
    }
  });

  it('data in flight under a shut window: a peer silent for longer than the largest RTO is dead', async () => {
    const c = await handshake();
    const { peer } = c;
    let err: string | null = null;
    c.s.on('error', (e: { code: string }) => (err = e.code));
    c.s.write(new Uint8Array(20000).fill(1));
    const first = data(peer.take());
    const t0 = peer.p.clock.now();
    peer.send({ seq: c.seq, ack: (c.ack + first[0]!.len) >>> 0, flags: ACK, window: 0 });
    for (let i = 0; i < 600 && err === null; i++) await peer.wait(1000);
    expect(err).toBe('ETIMEDOUT');
    const gone = peer.p.clock.now() - t0;
    expect(gone).toBeGreaterThan(120_000);
    expect(gone).toBeLessThan(250_000);
  });

  it('a fast retransmission after the window shrank below a segment stays inside SND.UNA + SND.WND', async () => {
    const c = await handshake();
    const { peer } = c;
    c.s.write(new Uint8Array(20000).fill(1));
    const first = data(peer.take());
    expect(first.length).toBe(10);
    const una = (c.ack + 1460) >>> 0;
    // The first segment is ACKed with the right edge pulled back to SND.UNA + 1000 (a shrink), then
    // three duplicates of that ACK: fast retransmit of what the window allows at SND.UNA.
    for (let i = 0; i < 4; i++) peer.send({ seq: c.seq, ack: una, flags: ACK, window: 1000 });
    const r = data(peer.take());
    expect(r.map((o) => [o.seq, o.len])).toEqual([[una, 1000]]);
    expect(peer.p.b.tcp.counters.fastRetrans).toBe(1);
  });

  it('TSO: a window shrunk on the request segment bounds the super-frame', async () => {
    const c = await handshake({ pair: { b: { offloads: { txCsum: true, tso4: true } } } });
    const { peer } = c;
    c.s.on('data', () => c.s.write(new Uint8Array(65536).fill(7)));
    peer.send({ seq: c.seq, ack: c.ack, flags: ACK | PSH, window: 2920, payload: REQ });
    await peer.wait(100);
    const d = data(peer.take());
    // One super-frame of two segments: exactly the window, nothing past SND.UNA + 2920.
    expect(d.map((o) => [o.seq, o.len])).toEqual([[c.ack, 2920]]);
  });
});
