// TCP against a hostile peer. Each input opens one connection with stack b, whose end sends 64 KiB
// and reads whatever comes: b's server answers the peer's SYN, or b connects and the peer answers
// its SYN (bit 7 of byte 8). The first 12 bytes give the peer's ISS (anywhere in 32 bits, so the
// stack's numbers are tried on both sides of 2^31), TSval and options (an MSS from 0 up, window
// scale up to 15). Every further 12 bytes are one segment of the peer's, checksums valid: flags,
// SEG.ACK and SEG.SEQ as distances from what b sent and what the peer sent, the window, a
// timestamp, up to four SACK blocks placed around b's send window, payload, and how far the
// virtual clock moves after it. After each segment: nothing thrown or caught in the datapath, and
// b's connection keeps its sequence spaces in order (RFC 9293 §3.3.1) and its windows and timers
// in range (check()). At the end the peer resets the connection and every packet buffer must come
// back. The two hosts are 192.168.7.1 (the peer) and .2 (b): every address is then a number from
// 2^31 up, the stack's signed In4 form, which the other tests run on 10/8 do not reach.
import type { MemNetIf } from '../../src/netif/index.ts';
import { IpPairScratch, seqDiff, seqLeq, seqLt, type Socket, type Tcb } from '../../src/stack/index.ts';
import {
  ArpOp,
  ArpRepr,
  ETH_HLEN,
  EtherType,
  EthernetRepr,
  TcpFlags,
  TcpOptKind,
  get16,
  get32,
  get48,
  in4,
} from '../../src/wire/index.ts';
import { makePair } from '../../test/stack/harness.ts';
import { decode, tcpFrame, type Out } from '../../test/support/tcp-frame.ts';

export const maxLen = 12 * 64;

const { FIN, SYN, RST, PSH, ACK, URG, ECE, CWR } = TcpFlags;
const BULK = new Uint8Array(64 * 1024).fill(0x42);

/** The peer's address and b's (192.168.7.1 and .2), as the frames carry them. */
const PEER = 0xc0a80701;
const SUT = 0xc0a80702;
const p = makePair({ a: { ipv4: '192.168.7.1/24' }, b: { ipv4: '192.168.7.2/24' } });
/** b's sockets of the current input, destroyed at its end whatever the peer did. */
const accepted: Socket[] = [];
p.b.net
  .createServer((s) => {
    accepted.push(s);
    s.on('data', () => {}).on('error', () => {});
    s.write(BULK);
  })
  .listen(80);
p.clock.advance(10);
const wire = p.la.inner as MemNetIf;
const amac = p.a.netif.mac;
const bmac = p.b.netif.mac;
const pair = new IpPairScratch();
pair.laddr = in4(SUT);
pair.raddr = in4(PEER);
let nextPort = 1024;

/** b's TCP segments since the last call (ARP and anything else are dropped). */
function drain(): Out[] {
  const out: Out[] = [];
  while (
    wire.poll(256, (m) => {
      const o = decode(m);
      if (o !== null) out.push(o);
      m.free();
    }) === 256
  );
  return out;
}

function feed(frame: Uint8Array): void {
  const m = p.b.pool.alloc();
  if (m === null) throw new Error('stack pool exhausted: buffers leak');
  m.append(frame);
  p.b.input(m);
}

/** An ARP request from the peer: b (re)learns where the peer is and can answer at once. */
const arpRequest = new Uint8Array(ETH_HLEN + 28);
EthernetRepr.emit(
  { dst: 0xffffffffffff, src: get48(amac, 0), vlans: [], etherType: EtherType.ARP },
  arpRequest,
  0,
);
ArpRepr.emit(
  { op: ArpOp.REQUEST, senderHw: get48(amac, 0), senderIp: PEER, targetHw: 0, targetIp: SUT },
  arpRequest,
  ETH_HLEN,
);
function arpFromPeer(): void {
  feed(arpRequest);
}

const s16 = (b: Uint8Array, o: number): number => (get16(b, o) << 16) >> 16;
const be32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** The peer's SYN and b's state from here on, as the peer sees it. */
interface Peer {
  /** The peer's port, and b's (80 for its server, an ephemeral one when b connects). */
  port: number;
  bport: number;
  /** The peer's next sequence number, b's ISS, the highest sequence b has sent up to. */
  nxt: number;
  iss: number;
  hi: number;
  ts: boolean;
  tsVal: number;
  /** The last TSval b sent, and the last SEG.ACK (b's RCV.NXT). */
  echo: number;
  rcvNxt: number;
  /** b's connection at the last check (a SYN after a reset opens another), its SND.UNA and RCV.NXT then: neither may move back. */
  tcb: Tcb | null;
  una: number;
  got: number;
}

function learn(c: Peer, segs: readonly Out[]): void {
  for (const o of segs) {
    if (o.dport !== c.port) continue;
    const end = (o.seq + o.len + ((o.flags & (SYN | FIN)) !== 0 ? 1 : 0)) >>> 0;
    if (((end - c.hi) | 0) > 0) c.hi = end;
    if (o.ts !== null) c.echo = o.ts[0];
    if ((o.flags & ACK) !== 0) c.rcvNxt = o.ack;
  }
}

/**
 * The checks after each segment: b's send sequence space in order and its flight held by its
 * queue; SND.UNA and RCV.NXT never moving back; the receive window inside the buffer; the
 * congestion window and the RTO finite numbers in their ranges.
 */
function check(c: Peer): void {
  if (p.b.counters.rxExceptions !== 0) throw new Error('the stack caught an exception in its datapath');
  const t = p.b.tcp.lookup(pair, c.bport, c.port);
  if (t === undefined) return;
  const s = t.snd;
  if (!seqLeq(s.una, s.nxt) || !seqLeq(s.nxt, s.max))
    throw new Error(`send sequence out of order: una ${s.una} nxt ${s.nxt} max ${s.max}`);
  // The flight is data the queue still holds, plus one for a SYN or FIN.
  if (seqDiff(s.max, s.una) > s.length + 1)
    throw new Error(`flight ${seqDiff(s.max, s.una)} beyond the ${s.length} bytes held`);
  const r = t.rcv;
  if (c.tcb === t && seqLt(s.una, c.una)) throw new Error(`SND.UNA moved back: ${c.una} → ${s.una}`);
  if (c.tcb === t && seqLt(r.rcvNxt, c.got)) throw new Error(`RCV.NXT moved back: ${c.got} → ${r.rcvNxt}`);
  c.tcb = t;
  c.una = s.una;
  c.got = r.rcvNxt;
  const held = seqDiff(r.rcvNxt, r.readSeq);
  if (held < 0 || held > r.capacity)
    throw new Error(`RCV.NXT ${held} bytes past the read point, capacity ${r.capacity}`);
  const cwnd = t.cc.cwnd;
  if (!(cwnd > 0) || !Number.isFinite(cwnd)) throw new Error(`cwnd ${cwnd}`);
  const rto = t.rto.rto;
  if (!(rto >= t.rto.minRto && rto <= t.rto.maxRto)) throw new Error(`RTO ${rto} outside its bounds`);
}

/**
 * Opens the connection, null when b's SYN or SYN-ACK did not come (a port in TIME-WAIT, say).
 * Bit 7 of byte 8 picks the side: b's server answers the peer's SYN, or b connects to the peer,
 * which answers b's SYN with a SYN-ACK carrying the input's ISS and options (SYN-SENT's checks).
 */
function open(data: Uint8Array): Peer | null {
  const o = data[8]!;
  const active = (o & 0x80) !== 0;
  const c: Peer = {
    port: 1024 + (nextPort++ % 64000),
    bport: 80,
    nxt: get32(data, 0),
    iss: 0,
    hi: 0,
    ts: (o & 4) !== 0,
    tsVal: get32(data, 4),
    echo: 0,
    rcvNxt: 0,
    tcb: null,
    una: 0,
    got: 0,
  };
  const opts: number[] = [];
  if ((o & 1) !== 0) opts.push(TcpOptKind.MSS, 4, ...[(o >> 4) & 7, data[10]!]);
  if ((o & 2) !== 0) opts.push(TcpOptKind.NOP, TcpOptKind.NOP, TcpOptKind.SACK_PERMITTED, 2);
  if (c.ts) opts.push(TcpOptKind.NOP, TcpOptKind.NOP, TcpOptKind.TIMESTAMP, 10, ...be32(c.tsVal), 0, 0, 0, 0);
  if ((o & 8) !== 0) opts.push(TcpOptKind.NOP, TcpOptKind.WSCALE, 3, data[11]! & 15);
  const window = get16(data, 9);
  let theirs: Out | undefined;
  if (active) {
    const s = p.b.net.connect({ host: '192.168.7.1', port: c.port });
    accepted.push(s);
    s.on('data', () => {}).on('error', () => {});
    s.on('connect', () => s.write(BULK));
    const syn = drain().find((x) => x.dport === c.port && x.flags === SYN);
    if (syn === undefined) return null;
    c.bport = syn.sport;
    if (syn.ts !== null) c.echo = syn.ts[0];
    if (c.ts) opts.splice(opts.indexOf(TcpOptKind.TIMESTAMP) + 6, 4, ...be32(c.echo));
    const ack = (syn.seq + 1) >>> 0;
    feed(
      tcpFrame(bmac, amac, PEER, SUT, {
        sport: c.port,
        dport: c.bport,
        seq: c.nxt,
        ack,
        flags: SYN | ACK,
        window,
        opts,
      }),
    );
    c.iss = syn.seq;
    c.hi = ack;
    c.nxt = (c.nxt + 1) >>> 0;
    theirs = syn;
  } else {
    feed(tcpFrame(bmac, amac, PEER, SUT, { sport: c.port, dport: 80, seq: c.nxt, flags: SYN, window, opts }));
    const synAck = drain().find((x) => x.dport === c.port && x.flags === (SYN | ACK));
    if (synAck === undefined) return null;
    c.nxt = (c.nxt + 1) >>> 0;
    c.iss = synAck.seq;
    c.hi = (synAck.seq + 1) >>> 0;
    c.rcvNxt = synAck.ack;
    if (synAck.ts !== null) c.echo = synAck.ts[0];
    theirs = synAck;
    const ackOpts =
      c.ts && synAck.ts !== null
        ? [TcpOptKind.NOP, TcpOptKind.NOP, TcpOptKind.TIMESTAMP, 10, ...be32(c.tsVal), ...be32(c.echo)]
        : [];
    feed(
      tcpFrame(bmac, amac, PEER, SUT, {
        sport: c.port,
        dport: 80,
        seq: c.nxt,
        ack: c.hi,
        flags: ACK,
        opts: ackOpts,
      }),
    );
  }
  c.ts &&= theirs.ts !== null;
  learn(c, drain());
  return c;
}

/** One segment of the peer's from 12 bytes at r. */
function segment(c: Peer, d: Uint8Array, r: number): void {
  const f = d[r]!;
  // Mostly ACKs with data or not; the rarer flags from the high bits.
  let flags = (f & 0x80) !== 0 ? 0 : ACK;
  if ((f & 1) !== 0) flags |= PSH;
  if ((f & 0x0e) === 0x0e) flags |= FIN;
  if ((f & 0x70) === 0x70) flags |= RST;
  if ((f & 0x7e) === 0x5e) flags |= SYN;
  if ((f & 0x30) === 0x10) flags |= ECE;
  if ((f & 0x30) === 0x20) flags |= CWR;
  if ((f & 0x41) === 0x41) flags |= URG;
  const ack = (c.hi + s16(d, r + 1)) >>> 0;
  const seq = (c.nxt + s16(d, r + 3)) >>> 0;
  const window = get16(d, r + 5);
  const m = d[r + 7]!;
  const len = (m >> 4) * 97;
  const opts: number[] = [];
  if (c.ts && (m & 8) === 0) {
    c.tsVal = (c.tsVal + d[r + 11]!) >>> 0;
    opts.push(TcpOptKind.NOP, TcpOptKind.NOP, TcpOptKind.TIMESTAMP, 10, ...be32(c.tsVal), ...be32(c.echo));
  }
  const blocks = Math.min(m & 7, c.ts && (m & 8) === 0 ? 3 : 4);
  if (blocks > 0) {
    opts.push(TcpOptKind.NOP, TcpOptKind.NOP, TcpOptKind.SACK, 2 + 8 * blocks);
    const unit = 1 + d[r + 10]!;
    let l = (ack + s16(d, r + 8) * 8) >>> 0;
    for (let i = 0; i < blocks; i++) {
      const right = (l + unit * (i + 1)) >>> 0;
      opts.push(...be32(l), ...be32(right));
      l = (right + unit) >>> 0;
    }
  }
  const payload = new Uint8Array(len).fill(0x61);
  feed(
    tcpFrame(bmac, amac, PEER, SUT, {
      sport: c.port,
      dport: c.bport,
      seq,
      ack,
      flags,
      window,
      opts,
      payload,
    }),
  );
  if (seq === c.nxt && (flags & (SYN | RST)) === 0)
    c.nxt = (c.nxt + len + ((flags & FIN) !== 0 ? 1 : 0)) >>> 0;
  p.clock.advance(d[r + 11]! * 4);
  learn(c, drain());
  check(c);
}

/** A plain connection: SACK, timestamps and window scaling offered; three ACKs of what came. */
export function seeds(): Uint8Array[] {
  const open = [0x7f, 0xff, 0xff, 0x00, 0, 0, 1, 0, 0x0f, 0xff, 0xff, 7];
  const ackAll = [0x01, 0x7f, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 10];
  const sacked = [0x00, 0, 0, 0, 0, 0xff, 0xff, 0x02, 0, 200, 100, 1];
  return [Uint8Array.from([...open, ...ackAll]), Uint8Array.from([...open, ...sacked, ...sacked, ...ackAll])];
}

export function fuzz(data: Uint8Array): void {
  if (data.length < 12) return;
  arpFromPeer();
  drain();
  const c = open(data);
  if (c !== null) {
    check(c);
    for (let r = 12; r + 12 <= data.length; r += 12) segment(c, data, r);
    // The peer goes away: a RST at the sequence b expects (its last SEG.ACK) ends the connection
    // at once; a connection that outlived it (a state that ignores RSTs) is closed from b's side.
    feed(tcpFrame(bmac, amac, PEER, SUT, { sport: c.port, dport: c.bport, seq: c.rcvNxt, flags: RST }));
  }
  for (const s of accepted.splice(0)) s.destroy();
  // Whatever b still holds for the connection comes back once its timers have run out.
  p.clock.advance(300_000);
  drain();
  if (p.b.counters.rxExceptions !== 0) throw new Error('the stack caught an exception in its datapath');
  if (p.b.pool.inUse !== 0)
    throw new Error(`${p.b.pool.inUse} packet buffers still held 5 virtual minutes later`);
}
