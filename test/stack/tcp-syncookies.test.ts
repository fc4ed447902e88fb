// Issue 14 item 3: SYN cookies (RFC 4987 §3.6) in Linux's layout (syncookies.c): engaged when the
// SYN queue is full, MSS index in the ISN, window scale / SACK in the TSval's low bits, validated
// on the ACK (cookie_v4_check), and a legitimate client served through a 5,000-SYN flood.
import { describe, expect, it } from 'vitest';
import {
  COOKIE_MSS_V4,
  SynCookies,
  cookieMssIndex,
  cookieTsval,
  halfSipHash24,
  type Socket,
} from '../../src/stack/index.ts';
import { TcpFlags } from '../../src/wire/index.ts';
import { makePair, randomBytesSeeded, runUntil, sha256 } from './harness.ts';
import { B6, frame6, inject, pair6 } from './ip-frames.ts';
import { PEER, SUT, opt, scriptedPeer, tcpFrame } from './tcp-peer.ts';

const { SYN, ACK, RST, PSH } = TcpFlags;

describe('cookie arithmetic', () => {
  it('HalfSipHash-2-4 matches the reference vectors (vectors_hsip32, key 00..07, message 00..len-1)', () => {
    const want = [
      [0xa9, 0x35, 0x9f, 0x5b],
      [0x27, 0x47, 0x5a, 0xb8],
      [0xfa, 0x62, 0xa6, 0x03],
      [0x8a, 0xfe, 0xe7, 0x04],
      [0x2a, 0x6e, 0x46, 0x89],
      [0xc5, 0xfa, 0xb6, 0x69],
      [0x58, 0x63, 0xfc, 0x23],
      [0x8b, 0xcf, 0x63, 0xc5],
    ];
    const msg = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    for (let len = 0; len < 8; len++) {
      const t = halfSipHash24(0x03020100, 0x07060504, msg, 0, len);
      expect([t & 0xff, (t >>> 8) & 0xff, (t >>> 16) & 0xff, t >>> 24]).toEqual(want[len]);
    }
  });

  it('a cookie carries its MSS index into the next minute and no longer; another tuple or ISN does not pass', () => {
    const c = new SynCookies(new Uint8Array(16).map((_, i) => i * 7 + 1));
    const a = Uint8Array.from([10, 0, 0, 1]);
    const b = Uint8Array.from([10, 0, 0, 2]);
    const t0 = 5 * 60000 + 59000;
    for (let idx = 0; idx < 4; idx++) {
      const k = c.make(a, b, 40000, 80, 123456, idx, t0);
      expect(c.check(a, b, 40000, 80, 123456, k, t0)).toBe(idx);
      // Valid in its minute and the next (MAX_SYNCOOKIE_AGE 2 counts the minute counter).
      expect(c.check(a, b, 40000, 80, 123456, k, t0 + 1000)).toBe(idx);
      expect(c.check(a, b, 40000, 80, 123456, k, t0 + 60999)).toBe(idx);
      expect(c.check(a, b, 40000, 80, 123456, k, t0 + 61000)).toBe(-1);
      const wrongPort = c.check(a, b, 40001, 80, 123456, k, t0);
      expect(wrongPort < 0 || wrongPort >= 4).toBe(true);
      // The peer's ISN is added, not hashed (as in Linux): an ISN off by n shifts the data by n,
      // so only small offsets can land in the table; a larger one does not.
      const wrongSeq = c.check(a, b, 40000, 80, 123456 + 1000, k, t0);
      expect(wrongSeq < 0 || wrongSeq >= 4).toBe(true);
    }
  });

  it('MSS table index and timestamp option bits as cookie_v4_init_sequence / cookie_init_timestamp', () => {
    expect(
      [100, 536, 1299, 1300, 1400, 1440, 1460, 9000].map((m) => cookieMssIndex(COOKIE_MSS_V4, m)),
    ).toEqual([0, 0, 0, 1, 1, 2, 3, 3]);
    // Window scale 7 and SACK in the low 6 bits, never above the clock.
    const ts = cookieTsval(1000, 7, true);
    expect(ts & 63).toBe(7 | 16);
    expect(ts).toBeLessThanOrEqual(1000);
    expect(1000 - ts).toBeLessThan(64);
    expect(cookieTsval(0x12345678, -1, false) & 63).toBe(15);
  });
});

/** A listener with a SYN queue of one, its queue already taken by a half-open connection. */
async function fullListener() {
  const peer = await scriptedPeer();
  const accepted: Socket[] = [];
  peer.p.b.net.createServer((s) => accepted.push(s)).listen(80, 1);
  peer.send({ sport: 39999, seq: 1, flags: SYN, opts: opt.mss(1460) });
  expect(peer.take()).toHaveLength(1);
  expect(peer.p.b.tcp.connectionCount).toBe(1);
  return { peer, accepted };
}

describe('SYN cookies at a full SYN queue', () => {
  it('SYN with timestamps: a stateless SYN-ACK carries the options; the ACK recreates the connection', async () => {
    const { peer, accepted } = await fullListener();
    const cnt = peer.p.b.tcp.counters;
    const synOpts = [...opt.mss(1400), ...opt.sackOk(), ...opt.ts(5555, 0), ...opt.wscale(7)];
    peer.send({ sport: 40001, seq: 7000, flags: SYN, opts: synOpts, window: 29200 });
    const r = peer.take();
    expect(r).toHaveLength(1);
    const sa = r[0]!;
    expect(sa).toMatchObject({
      flags: SYN | ACK,
      ack: 7001,
      mss: 1460,
      sackPermitted: true,
      wscale: 3,
      window: 65535,
    });
    expect(sa.ts![1]).toBe(5555);
    expect(sa.ts![0] & 63).toBe(7 | 16);
    expect(peer.p.b.tcp.connectionCount).toBe(1);
    expect(cnt.syncookiesSent).toBe(1);
    // The handshake's ACK, echoing the cookie's TSval.
    peer.send({
      sport: 40001,
      seq: 7001,
      ack: sa.seq + 1,
      flags: ACK,
      opts: opt.ts(5556, sa.ts![0]),
      window: 1000,
    });
    expect(peer.take()).toEqual([]);
    await runUntil(peer.p, () => accepted.length === 1);
    expect(cnt.syncookiesRecv).toBe(1);
    const t = accepted[0]!.tcb!;
    expect(t.state).toBe('ESTABLISHED');
    const info = t.info();
    expect(info.options).toEqual({ timestamps: true, sack: true, wscale: [7, 3], ecn: false });
    // MSS 1400 comes back as the table's 1300.
    expect(t.sendMss).toBe(1300);
    expect(t.sndWnd).toBe(1000 << 7);
    // Data both ways on the recreated connection.
    const got: Buffer[] = [];
    accepted[0]!.on('data', (d: Buffer) => got.push(d));
    peer.send({
      sport: 40001,
      seq: 7001,
      ack: sa.seq + 1,
      flags: ACK | PSH,
      opts: opt.ts(5600, sa.ts![0]),
      payload: Uint8Array.from([1, 2, 3, 4]),
    });
    await peer.wait(100);
    expect(Buffer.concat(got)).toEqual(Buffer.from([1, 2, 3, 4]));
    const acks = peer.take();
    expect(acks[acks.length - 1]).toMatchObject({ flags: ACK, seq: sa.seq + 1, ack: 7005, dport: 40001 });
    expect(acks[acks.length - 1]!.ts![1]).toBe(5600);
  });

  it('SYN without timestamps: the cookie SYN-ACK offers MSS only (scale and SACK cannot be remembered)', async () => {
    const { peer, accepted } = await fullListener();
    peer.send({
      sport: 40002,
      seq: 9000,
      flags: SYN,
      opts: [...opt.mss(1460), ...opt.sackOk(), ...opt.wscale(7)],
    });
    const sa = peer.take()[0]!;
    expect(sa).toMatchObject({
      flags: SYN | ACK,
      ack: 9001,
      mss: 1460,
      sackPermitted: false,
      wscale: -1,
      ts: null,
    });
    peer.send({ sport: 40002, seq: 9001, ack: sa.seq + 1, flags: ACK, window: 5000 });
    await runUntil(peer.p, () => accepted.length === 1);
    const t = accepted[0]!.tcb!;
    expect(t.info().options).toEqual({ timestamps: false, sack: false, wscale: null, ecn: false });
    expect(t.sendMss).toBe(1460);
    expect(t.sndWnd).toBe(5000);
  });

  it('an ACK holding no valid cookie is answered with a RST, and an expired cookie too', async () => {
    const { peer, accepted } = await fullListener();
    const cnt = peer.p.b.tcp.counters;
    peer.send({ sport: 40003, seq: 100, flags: SYN, opts: opt.mss(1460) });
    const sa = peer.take()[0]!;
    // Off by one in SEG.ACK: not our cookie.
    peer.send({ sport: 40003, seq: 101, ack: sa.seq + 2, flags: ACK });
    expect(peer.take()).toEqual([
      expect.objectContaining({ flags: RST, seq: sa.seq + 2, dport: 40003, len: 0 }),
    ]);
    // Another source port with the same numbers: not its cookie.
    peer.send({ sport: 40004, seq: 101, ack: sa.seq + 1, flags: ACK });
    expect(peer.take()).toEqual([expect.objectContaining({ flags: RST, seq: sa.seq + 1, dport: 40004 })]);
    expect(cnt.syncookiesFailed).toBe(2);
    // Three minutes on (the first half-open connection is gone by then) the right ACK is too old.
    await peer.wait(180_000);
    peer.take();
    peer.send({ sport: 40005, seq: 1, flags: SYN, opts: opt.mss(1460) });
    peer.send({ sport: 40003, seq: 101, ack: sa.seq + 1, flags: ACK });
    const r = peer.take().filter((o) => o.dport === 40003);
    expect(r).toEqual([expect.objectContaining({ flags: RST, seq: sa.seq + 1 })]);
    expect(accepted).toHaveLength(0);
  });

  it('cookies off: the overflowing SYN gets nothing', async () => {
    const { peer } = await fullListener();
    peer.p.b.tcp.synCookies = false;
    peer.send({ sport: 40006, seq: 100, flags: SYN, opts: opt.mss(1460) });
    expect(peer.take()).toEqual([]);
    expect(peer.p.b.tcp.counters.listenDrops).toBe(1);
  });
});

describe('SYN cookies over IPv6', () => {
  it('a client meeting a full SYN queue connects through a cookie (IPv6 MSS table) and echoes data', async () => {
    const p = await pair6();
    const echoed: Socket[] = [];
    p.b.net
      .createServer((s) => {
        echoed.push(s);
        s.on('data', (d: Buffer) => s.write(d));
      })
      .listen(8080, 1);
    // One raw SYN from another host takes the only slot.
    const syn = new Uint8Array(24);
    syn.set([
      0x9c,
      0x40,
      0x1f,
      0x90,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0x60,
      SYN,
      0xff,
      0xff,
      0,
      0,
      0,
      0,
      2,
      4,
      5,
      0xa0,
    ]);
    inject(p.b, frame6(p.b, p.a, '2001:db8::99', B6, 6, syn, 64, { at: 16, l4: 0, proto: 6 }));
    const t6 = p.b.tcp6!;
    expect(t6.connectionCount).toBe(1);
    const c = p.a.net.connect({ host: B6, port: 8080 });
    const back: Buffer[] = [];
    c.on('data', (d: Buffer) => back.push(d));
    await runUntil(p, () => !c.connecting && echoed.length === 1);
    expect(t6.counters.syncookiesSent).toBe(1);
    expect(t6.counters.syncookiesRecv).toBe(1);
    // a offered MSS 1440: the IPv6 table has it exactly.
    expect(echoed[0]!.tcb!.sendMss).toBe(1440);
    expect(echoed[0]!.tcb!.info().options.sack).toBe(true);
    c.write('over a cookie');
    await runUntil(p, () => back.length > 0);
    expect(Buffer.concat(back).toString()).toBe('over a cookie');
  });
});

describe('SYN flood', () => {
  it.each([
    ['cookies on: a legitimate client connects and moves data through a 5,000-SYN flood', true],
    ['cookies off: the same client gets no SYN-ACK (the queue is held by the flood)', false],
  ] as const)('%s', async (_name, cookies) => {
    const p = makePair({
      a: { tcp: { synRetries: 3 } },
      // Spoofed sources are off-link: their SYN-ACKs go to the gateway (a, which drops them), as
      // on a real network, instead of piling up behind ARP for addresses nobody answers.
      b: { tcp: { sndBuf: 65536, rcvBuf: 65536 }, gateway: '10.0.0.1' },
    });
    p.b.tcp.synCookies = cookies;
    let pong = -1;
    p.a.ping('10.0.0.2').then((r) => (pong = r));
    await runUntil(p, () => pong >= 0);
    let srv: Socket | null = null;
    const atServer: Buffer[] = [];
    p.b.net
      .createServer((s) => {
        srv = s;
        s.on('data', (d: Buffer) => {
          atServer.push(d);
          s.write(d);
        });
      })
      .listen(80, 256);
    const bmac = p.b.netif.mac;
    const amac = p.a.netif.mac;
    // 151 spoofed sources (198.51.100.100 - .250), random ports; options like a Linux client's.
    let x = 99;
    const rnd = (): number => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x;
    };
    let sent = 0;
    const synOpts = [...opt.mss(1460), ...opt.sackOk(), ...opt.ts(1, 0), ...opt.wscale(7)];
    const flood = (n: number): void => {
      for (let i = 0; i < n; i++) {
        // Distinct 4-tuples: each SYN is a new half-open attempt.
        const src = (0xc6336464 + (sent % 151)) >>> 0;
        const sport = 1024 + Math.floor(sent / 151);
        sent++;
        const m = p.b.pool.alloc()!;
        m.append(
          tcpFrame(bmac, amac, src, SUT, {
            sport,
            seq: rnd(),
            flags: SYN,
            opts: synOpts,
          }),
        );
        p.b.input(m);
      }
    };
    flood(2000);
    await runUntil(p, () => true);
    expect(p.b.tcp.connectionCount).toBe(256);
    const c = p.a.net.connect({ host: '10.0.0.2', port: 80 });
    let err: string | null = null;
    c.on('error', (e: { code: string }) => (err = e.code));
    // The rest of the flood, 100 SYNs every 10 virtual ms, while the client connects.
    for (let i = 0; i < 30; i++) {
      flood(100);
      await runUntil(p, () => false, 10, 10).catch(() => {});
    }
    const cb = p.b.tcp.counters;
    expect(sent).toBe(5000);
    // Every flood SYN beyond the queue got a cookie (or, off, was dropped); so did the client's.
    expect(cb.syncookiesSent + cb.listenDrops).toBeGreaterThanOrEqual(5000 - 256 + 1);
    if (!cookies) {
      await runUntil(p, () => err !== null, 120_000);
      expect(err).toBe('ETIMEDOUT');
      expect(cb.syncookiesSent).toBe(0);
      return;
    }
    await runUntil(p, () => !c.connecting && srv !== null);
    expect(cb.syncookiesSent).toBe(5000 - 256 + 1);
    expect(cb.syncookiesRecv).toBe(1);
    expect(c.tcb!.info().options).toMatchObject({ timestamps: true, sack: true });
    expect(c.tcb!.info().options.wscale).not.toBeNull();
    const up = randomBytesSeeded(256 * 1024, 3);
    const back: Buffer[] = [];
    c.on('data', (d: Buffer) => back.push(d));
    c.write(up);
    await runUntil(p, () => back.reduce((n, b) => n + b.length, 0) === up.length);
    expect(sha256(Buffer.concat(atServer))).toBe(sha256(up));
    expect(sha256(Buffer.concat(back))).toBe(sha256(up));
    expect(err).toBeNull();
    // The flood held only the SYN queue: 256 half-open connections plus the client's.
    expect(p.b.tcp.connectionCount).toBeLessThanOrEqual(257);
    void PEER;
  });
});
