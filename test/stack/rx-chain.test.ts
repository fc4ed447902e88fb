// Chained frames (GRO / TSO super-frames arrive as multi-slot chains): a TCP frame whose headers
// lie in the first segment goes from the chain straight into the receive buffer, with no
// linearising copy; everything else is linearised (counted), and bad chains are counted drops.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { COPY_SITE, copyBytes, resetCopyCounts } from '../../src/copycount/index.ts';
import { META_F_DATA_VALID, Mempool } from '../../src/mbuf/index.ts';
import { TcpFlags } from '../../src/wire/index.ts';
import { tcpHeadersInHead } from '../../src/stack/link/rx-chain.ts';
import { runUntil } from './harness.ts';
import { handshake, opt, PEER, SUT, tcpFrame, type Conn, type SegIn } from './tcp-peer.ts';

const { ACK, PSH } = TcpFlags;

/** Payload bytes that show a misplaced or missing byte. */
function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0, x = seed; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/**
 * Feeds `frame` to the system under test as a chain of `segmentSize`-byte segments whose first
 * holds `segmentSize - headroom` bytes; `valid` marks the checksum as vouched for by the NIC.
 */
function feedChain(c: Conn, pool: Mempool, frame: Uint8Array, valid: boolean): void {
  const m = pool.alloc()!;
  expect(m.append(frame)).toBe(true);
  expect(m.headLength).toBeLessThan(m.length);
  if (valid) m.meta.flags |= META_F_DATA_VALID;
  c.peer.p.b.input(m);
  // The layers returned: the frame went back to its pool, nothing holds it.
  expect(pool.segmentsFree).toBe(64);
}

function frameOf(c: Conn, s: SegIn): Uint8Array {
  return tcpFrame(c.peer.p.b.netif.mac, c.peer.p.a.netif.mac, PEER, SUT, s);
}

async function received(c: Conn, n: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let got = 0;
  c.s.on('data', (b: Buffer) => {
    parts.push(b);
    got += b.length;
  });
  await runUntil(c.peer.p, () => got >= n);
  return Buffer.concat(parts);
}

describe('chained TCP frames', () => {
  it('headers in the first segment: the payload goes from the chain to the receive buffer, not linearised', async () => {
    const c = await handshake();
    const pool = new Mempool({ segments: 64, segmentSize: 128, headroom: 64 });
    // A first segment that ends exactly where the TCP header ends: all the payload is in the rest.
    const bare = new Mempool({ segments: 64, segmentSize: 108, headroom: 54 });
    const data = payload(4000, 7);
    const more = payload(3000, 8);
    const rx = received(c, data.length + more.length);
    resetCopyCounts();
    feedChain(c, pool, frameOf(c, { seq: c.seq, ack: c.ack, flags: ACK | PSH, payload: data }), true);
    const f2 = frameOf(c, { seq: c.seq + data.length, ack: c.ack, flags: ACK, payload: more });
    feedChain(c, bare, f2, true);
    expect(await rx).toEqual(Buffer.concat([data, more]));
    const k = c.peer.p.b.counters;
    expect(k.rxLinearised).toBe(0);
    expect(copyBytes[COPY_SITE.linearise]).toBe(0);
    expect(copyBytes[COPY_SITE.rcvbufIn]).toBe(data.length + more.length);
    expect(k.rxExceptions).toBe(0);
    // The ACK for all of it.
    expect(c.peer.take().some((o) => o.ack === c.seq + data.length + more.length)).toBe(true);
  });

  it('headers past the first segment, or a checksum to verify in software: linearised, counted, data intact', async () => {
    const c = await handshake({ synOpts: [...opt.mss(1460), ...opt.ts(1, 0)] });
    const pool = new Mempool({ segments: 64, segmentSize: 128, headroom: 64 });
    const a = payload(3000, 1);
    const b = payload(2000, 2);
    const rx = received(c, a.length + b.length);
    resetCopyCounts();
    const ts = opt.ts(2, c.synAck.ts![0]);
    // 14 + 20 + 32 header bytes: the TCP options end past the 64-byte first segment.
    const f1 = frameOf(c, { seq: c.seq, ack: c.ack, flags: ACK, payload: a, opts: ts });
    feedChain(c, pool, f1, true);
    // Headers fit, but the NIC did not vouch for the checksum: summed over the linear copy.
    const f2 = frameOf(c, { seq: c.seq + a.length, ack: c.ack, flags: ACK, payload: b, opts: ts });
    const small = new Mempool({ segments: 64, segmentSize: 256, headroom: 128 });
    feedChain(c, small, f2, false);
    expect(await rx).toEqual(Buffer.concat([a, b]));
    const k = c.peer.p.b.counters;
    expect(k.rxLinearised).toBe(2);
    expect(copyBytes[COPY_SITE.linearise]).toBe(f1.length + f2.length);
    expect(c.peer.p.b.tcp.counters.csumErrors).toBe(0);
    expect(k.rxExceptions).toBe(0);
  });

  it('a chain shorter than its headers claim is a counted drop', async () => {
    const c = await handshake();
    const pool = new Mempool({ segments: 64, segmentSize: 128, headroom: 0 });
    const b = c.peer.p.b;
    const got: Buffer[] = [];
    c.s.on('data', (x: Buffer) => got.push(x));
    // IPv4 total length past the end of the chain.
    const long = frameOf(c, { seq: c.seq, ack: c.ack, flags: ACK, payload: payload(500, 3) });
    long[16] = long[16]! + 4;
    const hdrErrors = b.counters.ipInHdrErrors;
    feedChain(c, pool, long, true);
    expect(b.counters.ipInHdrErrors).toBe(hdrErrors + 1);
    // A TCP data offset of 60 bytes in a 50-byte segment (headers inside the first segment; the
    // chain is longer because of Ethernet padding after the IP packet).
    const short = frameOf(c, { seq: c.seq, ack: c.ack, flags: ACK, payload: payload(30, 4) });
    short[34 + 12] = 15 << 4;
    const padded = new Uint8Array(400);
    padded.set(short);
    const tcpErrs = b.tcp.counters.inErrs;
    feedChain(c, pool, padded, true);
    expect(b.tcp.counters.inErrs).toBe(tcpErrs + 1);
    await runUntil(c.peer.p, () => true);
    expect(got).toEqual([]);
    expect(c.s.bytesRead).toBe(0);
    expect(b.counters.rxLinearised).toBe(0);
    expect(b.counters.rxExceptions).toBe(0);
  });
});

/** Ethernet + IPv4 or IPv6 + a TCP header of `thl` bytes + 100 payload bytes (fields that matter only). */
function rawFrame(v6: boolean, thl: number): { f: Uint8Array; l4: number } {
  const l4 = 14 + (v6 ? 40 : 20);
  const f = new Uint8Array(l4 + thl + 100);
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0x00;
  if (v6) {
    f[14] = 0x60;
    f[14 + 6] = 6;
  } else {
    f[14] = 0x45;
    f[14 + 6] = 0x40; // DF
    f[14 + 9] = 6;
  }
  f[l4 + 12] = (thl / 4) << 4;
  return { f, l4 };
}

describe('tcpHeadersInHead', () => {
  it('is true exactly when every header up to TCP options ends inside the first segment', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 5, max: 15 }),
        fc.integer({ min: 0, max: 400 }),
        (v6, w, cut) => {
          const { f, l4 } = rawFrame(v6, w * 4);
          const head = Math.min(cut, f.length);
          // The bytes past the first segment must not matter: poison them.
          const g = f.slice();
          g.fill(0xff, head);
          expect(tcpHeadersInHead(g, 0, head)).toBe(head >= l4 + w * 4);
        },
      ),
    );
  });

  it('refuses fragments, IPv6 extension headers, other protocols, VLAN tags and bad header lengths', () => {
    const refuse = (edit: (f: Uint8Array, l4: number) => void, v6 = false): void => {
      const { f, l4 } = rawFrame(v6, 20);
      expect(tcpHeadersInHead(f, 0, f.length)).toBe(true);
      edit(f, l4);
      expect(tcpHeadersInHead(f, 0, f.length)).toBe(false);
    };
    refuse((f) => (f[14 + 6] = 0x20)); // MF
    refuse((f) => (f[14 + 7] = 1)); // fragment offset
    refuse((f) => (f[14 + 9] = 17)); // UDP
    refuse((f) => (f[14] = 0x44)); // IHL 16 bytes
    refuse((f) => (f[14] = 0x65)); // version 6 under EtherType IPv4
    refuse((f, l4) => (f[l4 + 12] = 4 << 4)); // TCP data offset 16 bytes
    refuse((f) => (f[14 + 6] = 0), true); // IPv6 hop-by-hop header first
    refuse((f) => (f[14] = 0x40), true);
    refuse((f) => {
      f[12] = 0x81; // 802.1Q
      f[13] = 0x00;
    });
    refuse((f) => {
      f[12] = 0x08; // ARP
      f[13] = 0x06;
    });
    // The first segment at an offset of its buffer.
    const { f } = rawFrame(false, 20);
    const b = new Uint8Array(f.length + 7);
    b.set(f, 7);
    expect(tcpHeadersInHead(b, 7, 54)).toBe(true);
    expect(tcpHeadersInHead(b, 7, 53)).toBe(false);
  });
});
