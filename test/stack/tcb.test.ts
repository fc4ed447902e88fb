// One Tcb against a scripted peer: exact segments for RFC 5681/6582/6298 events.
import { describe, expect, it } from 'vitest';
import { TcpFlags, TcpOptions } from '../../src/wire/index.ts';
import {
  Tcb,
  TcpCounters,
  TcpSegmentIn,
  VirtualClock,
  type TcbOptions,
  type TcpEnv,
} from '../../src/stack/index.ts';

const { SYN, ACK, FIN } = TcpFlags;

interface Sent {
  seq: number;
  flags: number;
  len: number;
}

function setup(opts: TcbOptions = {}, peerWnd = 65535) {
  const clock = new VirtualClock(0);
  const sent: Sent[] = [];
  const env: TcpEnv = {
    timers: clock.timers,
    counters: new TcpCounters(),
    tsoMax: 0,
    sendSegment: (_t, seq, flags, len) => {
      sent.push({ seq, flags, len });
      return true;
    },
    detach: () => {},
    established: () => {},
    challengeAckAllowed: () => true,
  };
  const t = new Tcb(env, {
    sack: false,
    timestamps: false,
    windowScaling: false,
    congestion: 'newreno',
    ...opts,
  });
  t.connect(1000, 1460);
  const seg = new TcpSegmentIn(new TcpOptions());
  const irs = 5000;
  const input = (
    f: Partial<Omit<TcpSegmentIn, 'opts'>> & { mss?: number; sack?: Array<[number, number]> },
  ): void => {
    seg.opts.clear();
    if (f.mss !== undefined) seg.opts.mss = f.mss;
    seg.opts.sackPermitted = (f.flags ?? 0) & SYN ? opts.sack === true : false;
    for (const [l, r] of f.sack ?? []) {
      seg.opts.sackLeft[seg.opts.sackCount] = l;
      seg.opts.sackRight[seg.opts.sackCount++] = r;
    }
    seg.seq = f.seq ?? irs + 1;
    seg.ack = f.ack ?? 0;
    seg.flags = f.flags ?? ACK;
    seg.wnd = f.wnd ?? peerWnd;
    seg.dataLen = f.dataLen ?? 0;
    seg.src = new Uint8Array(seg.dataLen);
    seg.dataOff = 0;
    t.input(seg);
  };
  input({ seq: irs, ack: 1001, flags: SYN | ACK, mss: 1460 });
  sent.length = 0;
  return { clock, t, sent, input, env };
}

describe('Tcb event processing', () => {
  it('completes the handshake from SYN-SENT', () => {
    const { t } = setup();
    expect(t.state).toBe('ESTABLISHED');
    expect(t.snd.una).toBe(1001);
    expect(t.sendMss).toBe(1460);
    expect(t.cc.cwnd).toBe(14600);
    const i = t.info();
    expect(i).toMatchObject({
      state: 'ESTABLISHED',
      sndMss: 1460,
      sndCwnd: 14600,
      unacked: 0,
      congestion: 'newreno',
    });
    expect(i.options).toEqual({ timestamps: false, sack: false, wscale: null, ecn: false });
  });

  it('sends at most the peer window, and only full segments into a small window (SWS)', () => {
    const { t, sent } = setup({}, 3000);
    t.write(new Uint8Array(20000), 0, 20000);
    expect(sent.map((s) => s.len)).toEqual([1460, 1460]);
    expect(t.persist).toBe(false);
  });

  it('RFC 6582: three duplicate ACKs → fast retransmit, inflation, partial and full ACK', () => {
    const { t, sent, input, env } = setup();
    t.write(new Uint8Array(14600), 0, 14600);
    expect(sent.length).toBe(10);
    sent.length = 0;
    // The first segment is lost; the next three arrivals produce duplicate ACKs.
    input({ ack: 1001 });
    input({ ack: 1001 });
    expect(sent.length).toBe(0);
    input({ ack: 1001 });
    expect(sent[0]).toEqual({ seq: 1001, flags: ACK | TcpFlags.PSH, len: 1460 });
    expect(t.inRecovery).toBe(true);
    expect(t.cc.ssthresh).toBe(7300);
    expect(t.cc.cwnd).toBe(7300 + 3 * 1460);
    input({ ack: 1001 });
    expect(t.cc.cwnd).toBe(7300 + 4 * 1460);
    // Partial ACK: the second segment was lost too; it is resent at once.
    sent.length = 0;
    input({ ack: 1001 + 1460 });
    expect(sent[0]!.seq).toBe(1001 + 1460);
    expect(t.inRecovery).toBe(true);
    // Full ACK ends recovery: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    input({ ack: 1001 + 14600 });
    expect(t.inRecovery).toBe(false);
    expect(t.cc.cwnd).toBe(1460 + 1460);
    expect(env.counters.renoRecovery).toBe(1);
  });

  it('SACK blocks on data-carrying segments drive loss detection (two-way stream, DupThresh)', () => {
    const { t, sent, input, env } = setup({ sack: true, rack: false });
    expect(t.sackOk).toBe(true);
    t.write(new Uint8Array(14600), 0, 14600);
    sent.length = 0;
    // The peer's own data segments carry the SACK blocks: the first segment was lost.
    let peerSeq = 5001;
    const seg = (k: number): [number, number] => [1001 + k * 1460, 1001 + (k + 1) * 1460];
    input({ seq: peerSeq, ack: 1001, dataLen: 100, flags: ACK, sack: [seg(1)] });
    peerSeq += 100;
    input({ seq: peerSeq, ack: 1001, dataLen: 100, flags: ACK, sack: [[seg(1)[0], seg(2)[1]]] });
    peerSeq += 100;
    expect(t.inRecovery).toBe(false);
    input({ seq: peerSeq, ack: 1001, dataLen: 100, flags: ACK, sack: [[seg(1)[0], seg(3)[1]]] });
    // Three SACKed segments above SND.UNA: IsLost(SND.UNA), fast retransmit of the first segment.
    expect(t.inRecovery).toBe(true);
    expect(env.counters.sackRecovery).toBe(1);
    expect(sent.find((s) => s.len > 0)).toMatchObject({ seq: 1001, len: 1460 });
    expect(env.counters.timeouts).toBe(0);
  });

  it('an ACK that advances SND.UNA and SACKs three segments above a new hole starts recovery', () => {
    const { t, sent, input, env } = setup({ sack: true });
    t.write(new Uint8Array(14600), 0, 14600);
    sent.length = 0;
    const at = (k: number): number => 1001 + k * 1460;
    // Segment 0 arrived, segment 1 was lost, 2..4 arrived: no duplicate ACK ever comes.
    input({ ack: at(1), sack: [[at(2), at(5)]] });
    expect(t.inRecovery).toBe(true);
    expect(sent.find((s) => s.len > 0)).toMatchObject({ seq: at(1), len: 1460 });
    expect(env.counters.fastRetrans).toBe(1);
  });

  it('RFC 6675 rescue retransmission (rule 4): once, after the first retransmission is ACKed', () => {
    const { t, sent, input, env } = setup({ sack: true, rack: false });
    t.write(new Uint8Array(7300), 0, 7300);
    sent.length = 0;
    const at = (k: number): number => 1001 + k * 1460;
    // Segments 0 and 4 lost; 1..3 SACKed: recovery with segment 0; RescueRxt = its end.
    input({ ack: at(0), sack: [[at(1), at(4)]] });
    expect(sent.filter((s) => s.len > 0).map((s) => s.seq)).toEqual([at(0)]);
    expect(env.counters.rescueRetransmits).toBe(0);
    // The partial ACK passes RescueRxt: nothing lost, no new data, so the tail is rescued.
    sent.length = 0;
    input({ ack: at(4) });
    expect(sent.filter((s) => s.len > 0).map((s) => s.seq)).toEqual([at(4)]);
    expect(env.counters.rescueRetransmits).toBe(1);
    sent.length = 0;
    input({ ack: at(4) });
    expect(sent.filter((s) => s.len > 0)).toEqual([]);
  });

  it('RFC 2883 D-SACK for the only retransmission undoes the cwnd reduction (tcp_try_undo_dsack)', () => {
    const { t, sent, input, env } = setup({ sack: true });
    t.write(new Uint8Array(14600), 0, 14600);
    const at = (k: number): number => 1001 + k * 1460;
    const before = t.cc.cwnd;
    // Segment 0 only delayed: three segments above it SACKed, fast retransmit, cwnd halved.
    input({ ack: at(0), sack: [[at(1), at(4)]] });
    expect(t.inRecovery).toBe(true);
    expect(sent.filter((s) => s.seq === at(0)).length).toBe(2);
    expect(t.cc.cwnd).toBeLessThan(before);
    // The original arrives, then the retransmission: the ACK of all carries a D-SACK for it.
    input({ ack: at(10), sack: [[at(0), at(1)]] });
    expect(env.counters.dsacksRecv).toBe(1);
    expect(env.counters.spuriousUndos).toBe(1);
    expect(t.inRecovery).toBe(false);
    expect(t.cc.cwnd).toBe(before);
  });

  it('a D-SACK for data that was never retransmitted (a duplicating network) undoes nothing', () => {
    const { t, input, env } = setup({ sack: true });
    t.write(new Uint8Array(14600), 0, 14600);
    const at = (k: number): number => 1001 + k * 1460;
    input({ ack: at(2) });
    input({ ack: at(2), sack: [[at(1), at(2)]] });
    expect(env.counters.dsacksRecv).toBe(1);
    expect(env.counters.spuriousUndos).toBe(0);
    expect(t.scoreboard.ranges.count).toBe(0);
  });

  it('RFC 6298: the RTO doubles on each expiry and collapses cwnd to one segment', () => {
    const { t, sent, clock } = setup({ minRto: 200 });
    t.write(new Uint8Array(4380), 0, 4380);
    sent.length = 0;
    const rto0 = t.rto.rto;
    clock.advance(rto0);
    expect(sent).toEqual([{ seq: 1001, flags: ACK, len: 1460 }]);
    expect(t.cc.cwnd).toBe(1460);
    expect(t.cc.ssthresh).toBe(2920);
    expect(t.rto.rto).toBe(2 * rto0);
    clock.advance(2 * rto0);
    expect(sent.length).toBe(2);
    expect(t.rto.rto).toBe(4 * rto0);
  });

  it('FIN after the data, FIN-WAIT-1 → FIN-WAIT-2 on its ACK', () => {
    const { t, sent, input } = setup();
    t.write(new Uint8Array(100), 0, 100);
    t.shutdown();
    // Nagle holds nothing here: 100 bytes go at once, then the FIN rides on its own segment.
    expect(sent.map((s) => [s.seq, s.len, (s.flags & FIN) !== 0])).toEqual([
      [1001, 100, false],
      [1101, 0, true],
    ]);
    expect(t.state).toBe('FIN-WAIT-1');
    input({ ack: 1102 });
    expect(t.state).toBe('FIN-WAIT-2');
  });
});
