// Issue 15, the stack snapshot (docs/SNAPSHOT.md): a stack's state captured mid-transfer, encoded,
// decoded and restored into a fresh stack on the same link (virtual time: deterministic); the codec
// round-trips any valid snapshot, refuses every truncation and survives any byte flip with a typed
// SnapshotError or a valid snapshot; a snapshot refused at restore leaves the target untouched.
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createNetIfPair } from '../../src/netif/index.ts';
import {
  RecvBuffer,
  SNAPSHOT_TCP_STATES,
  SNAPSHOT_VERSION,
  SnapshotError,
  Stack,
  VirtualClock,
  captureStack,
  decodeSnapshot,
  encodeSnapshot,
  restoreStack,
  type ConnSnapshot,
  type Socket,
  type StackSnapshot,
  type TcbConfig,
  type TcbState,
} from '../../src/stack/index.ts';
import { NetIfShell } from '../../src/unikernel/index.ts';
import { set32 } from '../../src/wire/index.ts';
import { LossyNetIf, randomBytesSeeded, runUntil, sha256, type Pair } from './harness.ts';

const KEY = new Uint8Array(32).fill(1);

/** Two stacks on a NetIf pair, A behind a shell that can be unplugged (its NIC "gone"). */
function world(): Pair & { shell: NetIfShell } {
  const clock = new VirtualClock(1000);
  const { a, b } = createNetIfPair();
  const la = new LossyNetIf(a);
  const lb = new LossyNetIf(b);
  const shell = new NetIfShell(la);
  const A = new Stack({ netif: shell, ipv4: '10.0.0.1/24', time: clock, isnKey: KEY });
  const B = new Stack({ netif: lb, ipv4: '10.0.0.2/24', time: clock, isnKey: KEY.map((x) => x + 1) });
  return { clock, a: A, b: B, la, lb, shell };
}

function resets(s: Stack): number {
  return s.tcp.counters.outRsts + s.tcp.counters.estabResets;
}

interface Transfer {
  w: ReturnType<typeof world>;
  data: Buffer;
  got: Buffer[];
  take: (s: Socket) => void;
  client: Socket;
}

/** B streams `n` bytes to A's port 5000 (A reads them into `got`); runs until A holds `until` bytes. */
async function transfer(n: number, until: number): Promise<Transfer> {
  const w = world();
  const data = randomBytesSeeded(n, 11);
  const got: Buffer[] = [];
  const take = (s: Socket): void => {
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => s.end());
  };
  w.a.net.createServer(take).listen(5000);
  const u = w.a.net.createSocket('udp4');
  u.bind(5353);
  const client = w.b.net.connect({ host: '10.0.0.1', port: 5000 });
  client.on('connect', () => client.end(data));
  client.resume();
  // Tests that end with the stream cut (a refused restore leaves a stack that answers with RST)
  // must not fail on the peer's socket error; those that restore check the reset counters.
  client.on('error', () => {});
  const count = (): number => got.reduce((x, b) => x + b.length, 0);
  await runUntil(w, () => count() >= until);
  return { w, data, got, take, client };
}

describe('stack snapshot: capture and restore', () => {
  it('a receiver captured mid-stream and restored into a fresh stack on the same link: intact, no reset', async () => {
    const { w, data, got, take, client } = await transfer(2_000_000, 600_000);
    // Freeze: A's NIC goes away; its state is taken and encoded.
    w.shell.unplug();
    const snap = captureStack(w.a);
    expect(snap.connections).toHaveLength(1);
    expect(snap.listeners).toEqual([expect.objectContaining({ port: 5000, v4: true, v6: false })]);
    expect(snap.udp).toEqual([expect.objectContaining({ type: 'udp4', port: 5353 })]);
    expect(snap.neighbours.length).toBe(1);
    const bytes = encodeSnapshot(snap);
    const back = decodeSnapshot(bytes);
    expect(back).toEqual(snap);
    // The peer keeps sending into the void for a while (its retransmissions find no one).
    w.clock.advance(50);
    // A fresh stack with A's MAC on the same link takes the snapshot.
    const a2 = new Stack({ netif: new NetIfShell(w.la, back.mac), ipv4: '10.0.0.1/24', time: w.clock });
    const r = restoreStack(a2, back);
    expect(r.sockets).toHaveLength(1);
    expect(r.servers.map((s) => s.address()?.port)).toEqual([5000]);
    expect(r.udp.map((u) => u.address().port)).toEqual([5353]);
    take(r.sockets[0]!);
    const p2 = { ...w, a: a2 };
    let closed = false;
    client.on('close', () => (closed = true));
    await runUntil(p2, () => closed);
    expect(sha256(Buffer.concat(got))).toBe(sha256(data));
    expect(resets(a2)).toBe(0);
    expect(resets(w.b)).toBe(0);
    expect(a2.ipv4.ident).toBeGreaterThan(0);
  });

  it('a sender captured mid-stream (its send queue and the bytes its socket still held) and restored: intact, no reset', async () => {
    const w = world();
    const data = randomBytesSeeded(3_000_000, 5);
    const got: Buffer[] = [];
    let ended = false;
    w.b.net
      .createServer((s) => {
        s.on('data', (d: Buffer) => got.push(d));
        s.on('end', () => {
          ended = true;
          s.end();
        });
      })
      .listen(5001);
    const c = w.a.net.connect({ host: '10.0.0.2', port: 5001 });
    // One write: the socket holds what the send ring cannot take yet.
    c.on('connect', () => c.end(data));
    c.resume();
    await runUntil(w, () => got.reduce((n, b) => n + b.length, 0) > 1_000_000);
    w.shell.unplug();
    const snap = decodeSnapshot(encodeSnapshot(captureStack(w.a)));
    const conn = snap.connections[0]!;
    expect(conn.tcb.sndData.length).toBeGreaterThan(0);
    expect(conn.socket!.appTx.length).toBeGreaterThan(0);
    expect(conn.socket!.ended).toBe(true);
    w.clock.advance(20);
    const a2 = new Stack({ netif: new NetIfShell(w.la, snap.mac), ipv4: '10.0.0.1/24', time: w.clock });
    const r = restoreStack(a2, snap);
    r.sockets[0]!.resume();
    await runUntil({ ...w, a: a2 }, () => ended && r.sockets[0]!.tcpState === 'TIME-WAIT');
    expect(sha256(Buffer.concat(got))).toBe(sha256(data));
    expect(resets(a2)).toBe(0);
    expect(resets(w.b)).toBe(0);
  });

  it('a sender with zero-copy writes in flight: the capture completes them, and the restored stack sends the bytes they had', async () => {
    const w = world();
    const bufs = [randomBytesSeeded(600_000, 21), randomBytesSeeded(700_000, 22)];
    const want = sha256(Buffer.concat(bufs));
    const got: Buffer[] = [];
    let ended = false;
    w.b.net
      .createServer((s) => {
        s.on('data', (d: Buffer) => got.push(Buffer.from(d)));
        s.on('end', () => {
          ended = true;
          s.end();
        });
      })
      .listen(5001);
    const c = w.a.net.connect({ host: '10.0.0.2', port: 5001, sndBuf: 2 << 20 });
    const done: number[] = [];
    c.on('zerocopy', (lo: number, hi: number) => {
      for (let id = lo; id <= hi; id++) {
        done.push(id);
        bufs[id]!.fill(0xee); // the caller's again: spoiled at once
      }
    });
    c.on('connect', () => {
      c.setZeroCopy();
      for (const b of bufs) c.write(b);
      c.end();
    });
    c.resume();
    await runUntil(w, () => got.reduce((n, b) => n + b.length, 0) > 200_000);
    expect(c.tcb!.snd.referenced).toBeGreaterThan(0);
    w.shell.unplug();
    const snap = decodeSnapshot(encodeSnapshot(captureStack(w.a)));
    // Completed by the capture, before a single further byte could have been acknowledged.
    expect(done).toEqual([0, 1]);
    w.clock.advance(20);
    const a2 = new Stack({ netif: new NetIfShell(w.la, snap.mac), ipv4: '10.0.0.1/24', time: w.clock });
    const r = restoreStack(a2, snap);
    r.sockets[0]!.resume();
    await runUntil({ ...w, a: a2 }, () => ended && r.sockets[0]!.tcpState === 'TIME-WAIT');
    expect(sha256(Buffer.concat(got))).toBe(want);
    expect(resets(a2)).toBe(0);
  });

  it('RecvBuffer.peek copies the unread bytes across chunks without consuming them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        u32,
        (writes, readFrac, isn) => {
          const rb = new RecvBuffer(2000, 8, 256);
          rb.init(isn);
          const all: number[] = [];
          let pos = 0;
          for (const w of writes) {
            const room = Math.min(w, rb.window);
            const chunk = randomBytesSeeded(room, pos + 1);
            rb.write((isn + pos) >>> 0, chunk, 0, room);
            all.push(...chunk);
            pos += room;
            // Read part of what is there, as an application would.
            const v = rb.read(readFrac % (rb.readable + 1));
            if (v !== null) all.splice(0, v.length);
          }
          const out = new Uint8Array(rb.readable + 3);
          expect(rb.peek(out, 3)).toBe(all.length);
          expect([...out.subarray(3)]).toEqual(all);
          expect(rb.readable).toBe(all.length);
        },
      ),
    );
  });

  it('a refused restore (a UDP port already bound, the last check) changes nothing on the target', async () => {
    const { w } = await transfer(500_000, 100_000);
    w.shell.unplug();
    const snap = captureStack(w.a);
    const a2 = new Stack({ netif: new NetIfShell(w.la, snap.mac), ipv4: '10.0.0.1/24', time: w.clock });
    const busy = a2.net.createSocket('udp4');
    busy.bind(5353);
    const ident = a2.ipv4.ident;
    let err: unknown;
    try {
      restoreStack(a2, decodeSnapshot(encodeSnapshot(snap)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as SnapshotError).code).toBe('IN_USE');
    expect(a2.tcp.connections()).toHaveLength(0);
    expect(a2.tcp.listening()).toHaveLength(0);
    expect(a2.udp.sockets()).toEqual([busy]);
    expect(a2.ipv4.arp.cache.entries.size).toBe(0);
    expect(a2.ipv4.ident).toBe(ident);
    // Another address: every connection's local address is refused before anything is made.
    const a3 = new Stack({ netif: new NetIfShell(w.la, snap.mac), ipv4: '10.0.0.9/24', time: w.clock });
    expect(() => restoreStack(a3, snap)).toThrow(expect.objectContaining({ code: 'BAD_ADDRESS' }));
    expect(a3.tcp.connections()).toHaveLength(0);
  });
});

// ------------------------------------------------------------------ the codec

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ms = fc.oneof(fc.constant(-1), fc.double({ min: 0, max: 1e6, noNaN: true }));

const configArb: fc.Arbitrary<TcbConfig> = fc.record({
  sndBuf: fc.integer({ min: 4096, max: 1 << 20 }),
  rcvBuf: fc.integer({ min: 4096, max: 1 << 20 }),
  congestion: fc.constantFrom('cubic' as const, 'newreno' as const),
  noDelay: fc.boolean(),
  minRto: fc.integer({ min: 1, max: 1000 }),
  maxRto: fc.integer({ min: 1000, max: 120_000 }),
  msl: fc.integer({ min: 0, max: 60_000 }),
  finTimeout: fc.integer({ min: 0, max: 60_000 }),
  maxRetries: fc.integer({ min: 0, max: 65535 }),
  synRetries: fc.integer({ min: 0, max: 65535 }),
  delAck: fc.integer({ min: 0, max: 500 }),
  timestamps: fc.boolean(),
  windowScaling: fc.boolean(),
  sack: fc.boolean(),
  ecn: fc.constantFrom(0 as const, 1 as const, 2 as const),
  rack: fc.boolean(),
});

const FIN: Record<string, [boolean, boolean]> = {
  ESTABLISHED: [false, false],
  'FIN-WAIT-1': [true, false],
  'FIN-WAIT-2': [true, false],
  'CLOSE-WAIT': [false, true],
  CLOSING: [true, true],
  'LAST-ACK': [true, true],
  'TIME-WAIT': [true, true],
};

/** A valid connection state: the sequence relations of docs/SNAPSHOT.md §5 hold by construction. */
const tcbArb: fc.Arbitrary<TcbState> = fc
  .record({
    v6: fc.boolean(),
    l: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    r: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    lport: fc.integer({ min: 1, max: 65535 }),
    rport: fc.integer({ min: 1, max: 65535 }),
    state: fc.constantFrom(...SNAPSHOT_TCP_STATES),
    config: configArb,
    una: u32,
    sndLen: fc.integer({ min: 0, max: 3000 }),
    rcvLen: fc.integer({ min: 0, max: 3000 }),
    finAcked: fc.boolean(),
    flightFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    nxtFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    seqs: fc.array(u32, { minLength: 12, maxLength: 12 }),
    wnds: fc.array(fc.integer({ min: 0, max: 0xffff * 2 ** 14 }), { minLength: 3, maxLength: 3 }),
    mss: fc.array(fc.integer({ min: 48, max: 65535 }), { minLength: 2, maxLength: 2 }),
    ws: fc.array(fc.integer({ min: 0, max: 14 }), { minLength: 2, maxLength: 2 }),
    flags: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    times: fc.array(ms, { minLength: 5, maxLength: 5 }),
    cc: fc.array(fc.double({ min: 1, max: 1e9, noNaN: true }), { minLength: 6, maxLength: 6 }),
    inf: fc.boolean(),
    small: fc.array(fc.integer({ min: 0, max: 64 }), { minLength: 5, maxLength: 5 }),
    bytes: fc.uint8Array({ minLength: 6000, maxLength: 6000 }),
  })
  .map((g): TcbState => {
    const [finSent, rcvFin] = FIN[g.state]!;
    const fam = g.v6 ? 6 : 4;
    const addr = (a: Uint8Array): Uint8Array => {
      const x = Uint8Array.from(a);
      if (fam === 4) {
        x.fill(0, 4);
        x[0] = 1 + (x[0]! % 200);
      } else {
        x[0] = 0xfd;
      }
      return x;
    };
    const sndLen = Math.min(g.sndLen, g.config.sndBuf);
    const rcvLen = Math.min(g.rcvLen, g.config.rcvBuf);
    // Our FIN either still follows the queue or was acknowledged with everything before it.
    const acked = finSent && g.finAcked;
    const len = acked ? 0 : sndLen;
    const finSeq = acked ? (g.una - 1) >>> 0 : (g.una + len) >>> 0;
    const span = len + (finSent && !acked ? 1 : 0);
    const flight = Math.floor(g.flightFrac * span);
    const nxt = Math.floor(g.nxtFrac * flight);
    const [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9] = g.seqs;
    return {
      family: fam,
      laddr: addr(g.l),
      raddr: addr(g.r),
      lport: g.lport,
      rport: g.rport,
      state: g.state,
      config: g.config,
      iss: s0!,
      irs: s1!,
      sndUna: g.una,
      sndNxt: (g.una + nxt) >>> 0,
      sndMax: (g.una + flight) >>> 0,
      sndWnd: g.wnds[0]!,
      sndWl1: s2!,
      sndWl2: s3!,
      maxSndWnd: g.wnds[1]!,
      sndSml: s4!,
      rcvNxt: s5!,
      rcvAdvEdge: (s5! + g.wnds[2]!) >>> 0,
      lastAckSent: s6!,
      sendMss: g.mss[0]!,
      rcvMss: g.mss[1]!,
      wsOk: g.flags[0]!,
      sndWscale: g.ws[0]!,
      rcvWscale: g.ws[1]!,
      tsOk: g.flags[1]!,
      tsNow: s7!,
      tsRecent: s8!,
      tsRecentAge: g.times[0]!,
      sackOk: g.flags[2]!,
      ecnOk: g.flags[3]!,
      ecnEcho: g.flags[4]!,
      cwrPending: g.flags[5]!,
      ecnRecover: s9!,
      cc: {
        cwnd: g.cc[0]!,
        ssthresh: g.inf ? Infinity : g.cc[1]!,
        wMax: g.cc[2]!,
        k: g.cc[3]!,
        wEst: g.cc[4]!,
        epochAge: g.times[1]!,
        bytesAcked: g.cc[5]!,
      },
      rto: {
        srtt: g.cc[1]! % 1e5,
        rttvar: g.cc[2]! % 1e5,
        baseRto: g.cc[3]! % 1e5,
        backoffs: g.small[0]!,
        samples: g.small[1]!,
      },
      recover: g.seqs[10]!,
      retries: g.small[2]!,
      probesOut: g.small[3]!,
      persist: g.flags[6]!,
      finQueued: finSent || g.flags[7]!,
      finSent,
      finSeq,
      rcvFin,
      keepAlive: g.flags[7]!,
      keepIdle: 7_200_000,
      keepIntvl: 75_000,
      keepCnt: 9,
      keepProbes: g.small[4]!,
      lastRecvAge: Math.max(0, g.times[2]!),
      rtxTimer: g.times[3]!,
      delackTimer: g.times[4]!,
      keepTimer: -1,
      sndData: g.bytes.slice(0, len),
      rcvData: g.bytes.slice(3000, 3000 + rcvLen),
    };
  });

const connArb: fc.Arbitrary<ConnSnapshot> = fc.record({
  tcb: tcbArb,
  socket: fc.option(
    fc.record({
      allowHalfOpen: fc.boolean(),
      ended: fc.boolean(),
      appTx: fc.uint8Array({ maxLength: 100 }),
      appRx: fc.uint8Array({ maxLength: 100 }),
    }),
    { nil: null },
  ),
});

const snapshotArb: fc.Arbitrary<StackSnapshot> = fc
  .record({
    mac: fc.uint8Array({ minLength: 6, maxLength: 6 }).map((m) => {
      m[0] = m[0]! & 0xfe;
      return m;
    }),
    mtu: fc.integer({ min: 576, max: 9000 }),
    capturedAt: fc.integer({ min: 0, max: 2 ** 45 }),
    ipIdent: fc.integer({ min: 0, max: 0xffff }),
    connections: fc.uniqueArray(connArb, {
      maxLength: 3,
      selector: (c) =>
        `${c.tcb.family}${c.tcb.laddr.join()}${c.tcb.lport}${c.tcb.raddr.join()}${c.tcb.rport}`,
    }),
    listeners: fc.uniqueArray(
      fc.record({
        port: fc.integer({ min: 1, max: 65535 }),
        backlog: fc.integer({ min: 1, max: 65535 }),
        v4: fc.constant(true),
        v6: fc.boolean(),
        allowHalfOpen: fc.boolean(),
        config: configArb,
      }),
      { maxLength: 3, selector: (l) => l.port },
    ),
    udp: fc.uniqueArray(
      fc.record({
        type: fc.constantFrom('udp4' as const, 'udp6' as const),
        port: fc.integer({ min: 1, max: 65535 }),
        address: fc.constantFrom('', '0.0.0.0', '10.0.0.1'),
        broadcast: fc.boolean(),
        peerAddress: fc.constant(''),
        peerPort: fc.constant(0),
      }),
      { maxLength: 3, selector: (u) => u.port },
    ),
    neighbours: fc.array(
      fc.record({
        family: fc.constant(4 as const),
        addr: fc.constant(Uint8Array.from([10, 0, 0, 2, ...new Array<number>(12).fill(0)])),
        mac: fc.constant(Uint8Array.from([2, 0, 0, 0, 0, 2])),
      }),
      { maxLength: 2 },
    ),
  })
  .map((s) => ({ version: SNAPSHOT_VERSION, ...s }));

/** `b` with its CRC-32 made right again (so a flip reaches the field validation behind it). */
function fixCrc(b: Uint8Array): Uint8Array {
  set32(b, b.length - 4, crc32(b.subarray(0, b.length - 4)));
  return b;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof SnapshotError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('stack snapshot: the codec', () => {
  it('decode(encode(x)) is x, and encoding is stable, for any valid snapshot', () => {
    fc.assert(
      fc.property(snapshotArb, (s) => {
        const b = encodeSnapshot(s);
        const d = decodeSnapshot(b);
        expect(d).toEqual(s);
        expect(Buffer.from(encodeSnapshot(d)).equals(Buffer.from(b))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('every truncation of a real snapshot is TRUNCATED, and trailing bytes BAD_LENGTH', async () => {
    const { w } = await transfer(300_000, 100_000);
    w.shell.unplug();
    const b = encodeSnapshot(captureStack(w.a));
    expect(b.length).toBeGreaterThan(400);
    for (let n = 0; n < b.length; n++)
      expect(codeOf(() => decodeSnapshot(b.subarray(0, n)))).toBe('TRUNCATED');
    const longer = new Uint8Array(b.length + 1);
    longer.set(b);
    expect(codeOf(() => decodeSnapshot(longer))).toBe('BAD_LENGTH');
  });

  it('a flipped byte gives a SnapshotError or a snapshot that round-trips, never another exception', async () => {
    const { w } = await transfer(300_000, 100_000);
    w.shell.unplug();
    const b = encodeSnapshot(captureStack(w.a));
    const codes = new Set<string>();
    fc.assert(
      fc.property(fc.nat(b.length - 5), fc.integer({ min: 1, max: 255 }), fc.boolean(), (at, x, fix) => {
        const m = Uint8Array.from(b);
        m[at] = m[at]! ^ x;
        if (fix) fixCrc(m);
        let d: StackSnapshot;
        try {
          d = decodeSnapshot(m);
        } catch (e) {
          expect(e).toBeInstanceOf(SnapshotError);
          codes.add((e as SnapshotError).code);
          if (!fix) expect((e as SnapshotError).code).not.toBe('ok');
          return;
        }
        codes.add('ok');
        expect(decodeSnapshot(encodeSnapshot(d))).toEqual(d);
      }),
      { numRuns: 3000 },
    );
    // The flips reached the checks behind the CRC.
    for (const c of ['BAD_CHECKSUM', 'BAD_MAGIC', 'BAD_VERSION', 'BAD_FIELD', 'BAD_LENGTH'])
      expect(codes).toContain(c);
  });

  it('names the rule a snapshot breaks', () => {
    const s = fc.sample(
      snapshotArb.filter((x) => x.connections.length > 0),
      { numRuns: 1, seed: 5 },
    )[0]!;
    const c = s.connections[0]!;
    const enc = (x: StackSnapshot): string => codeOf(() => decodeSnapshot(encodeSnapshot(x)));
    const b = encodeSnapshot(s);
    const bad = Uint8Array.from(b);
    bad[0] = 0;
    expect(codeOf(() => decodeSnapshot(bad))).toBe('BAD_MAGIC');
    const v2 = Uint8Array.from(b);
    v2[5] = 2;
    expect(codeOf(() => decodeSnapshot(fixCrc(v2)))).toBe('BAD_VERSION');
    const flipped = Uint8Array.from(b);
    flipped[40] = flipped[40]! ^ 1;
    expect(codeOf(() => decodeSnapshot(flipped))).toBe('BAD_CHECKSUM');
    expect(enc({ ...s, connections: [c, c] })).toBe('DUPLICATE_TUPLE');
    const est = { ...c.tcb, state: 'ESTABLISHED' as const, finSent: true, finQueued: true };
    expect(enc({ ...s, connections: [{ ...c, tcb: est }] })).toBe('BAD_STATE');
    const len = c.tcb.sndData.length;
    const past = { ...c.tcb, sndMax: (c.tcb.sndUna + len + 2) >>> 0 };
    expect(enc({ ...s, connections: [{ ...c, tcb: past }] })).toBe('BAD_SEQ');
    const big = { ...c.tcb, sndData: new Uint8Array(c.tcb.config.sndBuf + 1) };
    expect(enc({ ...s, connections: [{ ...c, tcb: big }] })).toBe('BAD_LENGTH');
    const nan = { ...c.tcb, cc: { ...c.tcb.cc, cwnd: NaN } };
    expect(enc({ ...s, connections: [{ ...c, tcb: nan }] })).toBe('BAD_FIELD');
    expect(enc({ ...s, mac: Uint8Array.from([1, 2, 3, 4, 5, 6]) })).toBe('BAD_ADDRESS');
  });
});
