// synflood: SYNs per second a listener absorbs once its SYN queue is full, answering each with a
// SYN cookie (RFC 4987 §3.6, Linux's syncookies), while a legitimate client still connects and
// echoes data through the same listener in the same run. Wall time, one thread, the in-memory pair;
// the SYN frames are built before the clock starts (4,096 distinct 4-tuples from 151 off-link
// sources, options like a Linux client's), so the figure is the stack's input path and the cookie
// SYN-ACK's output path.
import { createNetIfPair } from '../src/netif/index.ts';
import { Stack } from '../src/stack/index.ts';
import { TcpFlags } from '../src/wire/index.ts';
import { opt, tcpFrame } from '../test/stack/tcp-peer.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

const SUT = 0x0a000002;
const SYNS = 4096;

export const synfloodSuite: BenchSuite = {
  name: 'synflood',
  async run({ quick }) {
    const rows: BenchRow[] = [];
    const runs = quick ? 3 : 5;
    const perRun = quick ? 100_000 : 400_000;
    const { a, b } = createNetIfPair();
    const A = new Stack({ netif: a, ipv4: '10.0.0.1/24' });
    // Spoofed sources are off-link: their SYN-ACKs go to the gateway (stack a, which drops them).
    const B = new Stack({
      netif: b,
      ipv4: '10.0.0.2/24',
      gateway: '10.0.0.1',
      tcp: { sndBuf: 65536, rcvBuf: 65536 },
    });
    const server = B.net
      .createServer((s) => s.on('data', (d: Buffer) => s.write(d)).on('error', () => {}))
      .listen(80, 256);
    await A.ping('10.0.0.2');
    const synOpts = [...opt.mss(1460), ...opt.sackOk(), ...opt.ts(1, 0), ...opt.wscale(7)];
    const frames: Uint8Array[] = [];
    for (let i = 0; i < SYNS; i++) {
      const src = (0xc6336464 + (i % 151)) >>> 0;
      frames.push(
        tcpFrame(B.netif.mac, A.netif.mac, src, SUT, {
          sport: 1024 + Math.floor(i / 151),
          seq: (i * 2654435761) >>> 0,
          flags: TcpFlags.SYN,
          opts: synOpts,
        }),
      );
    }
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    const flood = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const m = B.pool.alloc();
        if (m === null) {
          await tick();
          continue;
        }
        m.append(frames[i % SYNS]!);
        B.input(m);
        // Let the pair deliver the cookie SYN-ACKs (to a, which drops them) every 128 SYNs.
        if ((i & 127) === 127) await tick();
      }
    };
    await flood(2 * SYNS); // fills the SYN queue; warm-up
    const rates: number[] = [];
    let served = true;
    for (let r = 0; r < runs; r++) {
      // A legitimate client in the middle of each run.
      const c = A.net.connect({ host: '10.0.0.2', port: 80 });
      let echoed = 0;
      c.on('data', (d: Buffer) => (echoed += d.length)).on('error', () => {});
      c.once('connect', () => c.write(Buffer.alloc(1000, 0x61)));
      const before = B.tcp.counters.syncookiesSent;
      const t0 = performance.now();
      await flood(perRun);
      const dt = (performance.now() - t0) / 1000;
      rates.push((B.tcp.counters.syncookiesSent - before) / dt);
      for (let k = 0; k < 200 && echoed < 1000; k++) await tick();
      if (echoed < 1000) served = false;
      c.destroy();
    }
    rates.sort((x, y) => x - y);
    const med = rates[Math.floor(rates.length / 2)]!;
    rows.push({
      name: 'SYN flood absorbed with cookies (listener queue full)',
      value: med / 1000,
      unit: 'K SYN/s',
      note: `min ${(rates[0]! / 1000).toFixed(0)} / median ${(med / 1000).toFixed(0)} / max ${(rates[rates.length - 1]! / 1000).toFixed(0)} K SYN/s over ${runs} runs of ${perRun}; a legitimate client connected and echoed 1000 B during every run: ${served ? 'yes' : 'NO'} (target: yes)`,
    });
    // The pair is dropped: nothing of it may keep the process alive (the listener and the echo
    // sockets were ref'd handles; the bench, which runs every suite again, hung here at its end).
    server.close();
    for (const st of [A, B]) {
      (st.time as { stop?: () => void }).stop?.();
      st.releaseProcess();
    }
    return rows;
  },
};
