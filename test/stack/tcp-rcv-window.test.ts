// Issue 14 item 1: segment acceptability (RFC 9293 §3.10.7.4, RFC 5961 §3.2) against the right
// edge of the window b advertised, not the room in its receive buffer. The peer sends no window
// scale option, so b (256 KiB buffer) can offer at most 65535 bytes.
import { describe, expect, it } from 'vitest';
import type { Socket } from '../../src/stack/index.ts';
import { TcpFlags } from '../../src/wire/index.ts';
import { makePair, runUntil } from './harness.ts';
import { decode, handshake, opt, type Out } from './tcp-peer.ts';

const { ACK, RST, PSH } = TcpFlags;

describe('receive window acceptability (issue 14 item 1)', () => {
  it('the SYN-ACK offers 65535 unscaled bytes from a 256 KiB buffer', async () => {
    const c = await handshake();
    expect(c.synAck.window).toBe(65535);
    expect(c.synAck.wscale).toBe(-1);
    expect(c.s.tcb!.rcv.window).toBe(256 * 1024);
  });

  it('a RST beyond the advertised right edge is dropped silently; an in-window inexact RST is challenged', async () => {
    const c = await handshake();
    const { peer } = c;
    const t = c.s.tcb!;
    c.s.on('error', () => {});
    const cnt = peer.p.b.tcp.counters;
    // RCV.NXT + RCV.WND + 100000: inside the 256 KiB buffer, far outside the 65535 offered.
    peer.send({ seq: c.seq + 65535 + 100000, flags: RST });
    expect(peer.take()).toEqual([]);
    expect(cnt.challengeAcks).toBe(0);
    expect(cnt.outOfWindow).toBe(1);
    // One past the right edge: still outside.
    peer.send({ seq: c.seq + 65535 + 1, flags: RST });
    expect(peer.take()).toEqual([]);
    expect(cnt.outOfWindow).toBe(2);
    expect(t.state).toBe('ESTABLISHED');
    // Inside the window, not RCV.NXT: exactly one challenge ACK (RFC 5961 §3.2).
    peer.send({ seq: c.seq + 65535 - 1, flags: RST });
    const ch = peer.take();
    expect(ch).toHaveLength(1);
    expect(ch[0]).toMatchObject({ flags: ACK, seq: c.ack, ack: c.seq, len: 0 });
    expect(cnt.challengeAcks).toBe(1);
    expect(t.state).toBe('ESTABLISHED');
    // Exactly RCV.NXT: reset.
    peer.send({ seq: c.seq, flags: RST });
    expect(peer.take()).toEqual([]);
    expect(t.state).toBe('CLOSED');
  });

  it('data starting beyond the advertised right edge is not kept, even once the gap is filled', async () => {
    const c = await handshake();
    const { peer } = c;
    const t = c.s.tcb!;
    const got: Buffer[] = [];
    c.s.on('data', (d: Buffer) => got.push(d));
    // 128 bytes at RCV.NXT + 65535 + 1000: unacceptable, answered by a duplicate ACK, not stored.
    peer.send({
      seq: c.seq + 65535 + 1000,
      ack: c.ack,
      flags: ACK | PSH,
      payload: new Uint8Array(128).fill(9),
    });
    const r = peer.take();
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ flags: ACK, seq: c.ack, ack: c.seq, len: 0 });
    expect(t.rcv.ooo.count).toBe(0);
    // Fill [RCV.NXT, RCV.NXT + 66535) in order, within each advertised window, as the reader drains.
    const total = 65535 + 1000;
    let sent = 0;
    let lastAck = c.seq;
    while (sent < total) {
      const n = Math.min(1460, total - sent);
      peer.send({ seq: c.seq + sent, ack: c.ack, flags: ACK, payload: new Uint8Array(n).fill(1) });
      sent += n;
      await runUntil(peer.p, () => got.reduce((a, b) => a + b.length, 0) === sent);
      for (const o of peer.take()) lastAck = o.ack;
    }
    await peer.wait(200);
    for (const o of peer.take()) lastAck = o.ack;
    // Everything up to the gap's end is acknowledged, and nothing of the 128 bytes beyond it.
    expect(lastAck).toBe((c.seq + total) >>> 0);
    expect(t.rcvNxt).toBe((c.seq + total) >>> 0);
    expect(Buffer.concat(got).every((x) => x === 1)).toBe(true);
  });

  it('a segment straddling the right edge is trimmed to it (SACK shows what was kept)', async () => {
    const c = await handshake({ synOpts: [...opt.mss(1460), ...opt.sackOk()] });
    const { peer } = c;
    const t = c.s.tcb!;
    c.s.on('data', () => {});
    expect(c.synAck.sackPermitted).toBe(true);
    const edge = (c.seq + 65535) >>> 0;
    // Out of order: [edge - 100, edge + 200), 200 bytes past what b offered.
    peer.send({ seq: edge - 100, ack: c.ack, flags: ACK, payload: new Uint8Array(300).fill(3) });
    const r = peer.take();
    expect(r).toHaveLength(1);
    expect(r[0]!.ack).toBe(c.seq);
    expect(r[0]!.sack).toEqual([[(edge - 100) >>> 0, edge]]);
    expect(t.rcv.ooo.count).toBe(1);
    expect(t.rcv.ooo.end(0)).toBe(edge);
  });

  it('a FIN past the right edge (its data trimmed) is not taken', async () => {
    const c = await handshake();
    const { peer } = c;
    const t = c.s.tcb!;
    c.s.on('data', () => {});
    const edge = (c.seq + 65535) >>> 0;
    // Out of order: 1000 bytes and FIN from 500 bytes before the right edge; the FIN lies past it.
    peer.send({
      seq: edge - 500,
      ack: c.ack,
      flags: ACK | TcpFlags.FIN,
      payload: new Uint8Array(1000).fill(5),
    });
    const r = peer.take();
    expect(r).toHaveLength(1);
    expect(r[0]!.ack).toBe(c.seq);
    expect(t.rcvFinSeen).toBe(false);
    expect(t.rcv.ooo.end(0)).toBe(edge);
    expect(t.state).toBe('ESTABLISHED');
  });

  it('the advertised right edge never moves left over a transfer with a stalling reader', async () => {
    const p = makePair({ b: { tcp: { rcvBuf: 300_000 } } });
    const edges: number[] = [];
    let ws = 0;
    p.lb.drop = (m) => {
      const o: Out | null = decode(m);
      if (o === null) return false;
      if ((o.flags & TcpFlags.SYN) !== 0) {
        ws = o.wscale;
        edges.push((o.ack + o.window) >>> 0);
      } else if ((o.flags & ACK) !== 0) edges.push((o.ack + o.window * 2 ** ws) >>> 0);
      return false;
    };
    let s: Socket | null = null;
    p.b.net.createServer((x) => (s = x)).listen(80);
    const cl = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    await runUntil(p, () => s !== null && !cl.connecting);
    const srv = s!;
    let got = 0;
    srv.on('data', (d: Buffer) => (got += d.length));
    const total = 2 * 1024 * 1024;
    const chunk = Buffer.alloc(65536, 1);
    let queued = 0;
    const pump = (): void => {
      while (queued < total && cl.write(chunk)) queued += chunk.length;
      if (queued < total) cl.once('drain', pump);
      else queued = total;
    };
    pump();
    // Pause and resume the reader every few virtual ms so the window closes and reopens.
    for (let i = 0; got < total && i < 400; i++) {
      if (i % 2 === 0) srv.pause();
      else srv.resume();
      await runUntil(p, () => false, 30).catch(() => {});
    }
    srv.resume();
    await runUntil(p, () => got >= total);
    expect(edges.length).toBeGreaterThan(50);
    for (let i = 1; i < edges.length; i++) expect((edges[i]! - edges[i - 1]!) | 0).toBeGreaterThanOrEqual(0);
  });
});
