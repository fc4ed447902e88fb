// The three end-to-end measures, written against the stack's socket API only, shared by the VALE
// rows (both unikernels in this process) and the TAP rows (one unikernel in a child process inside
// a network namespace, see bench/e2e-tap.ts).
import type { ValeSwitch } from '../src/host/index.ts';
import type { Net } from '../src/stack/index.ts';
import { UnikernelWorker } from '../src/unikernel/index.ts';
export { countingSink, rrServer } from '../src/apps/index.ts';
import type { BenchRow, Target } from './harness.ts';
import type { LinuxReference } from './linux-reference.ts';

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);
const ONE = Buffer.from([1]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CLOSE_WAIT_MS = 15_000;

/**
 * Writes as fast as the socket takes for `ms`, then half-closes and resolves once the peer has
 * closed too (so every byte was received). Resolves with the bytes written.
 */
/** The e2e rows' TCP buffers: 1 MiB each way. */
export const E2E_TCP = { sndBuf: 1 << 20, rcvBuf: 1 << 20 };

/**
 * The peer of the "a thread each" rows: a unikernel in a worker thread on port 'b' of `vale`,
 * 10.0.0.2, with a counting sink on 5001 and a TCP_RR echo on 5002.
 */
export function spawnThreadPeer(vale: ValeSwitch, busyPollUs?: number): Promise<UnikernelWorker> {
  return UnikernelWorker.spawn({
    port: vale.attach('b'),
    ipv4: '10.0.0.2/24',
    tcp: E2E_TCP,
    ...(busyPollUs === undefined ? {} : { busyPollUs }),
    services: [
      { kind: 'sink', port: 5001 },
      { kind: 'rr', port: 5002 },
    ],
  });
}

export async function bulkSend(
  net: Net,
  host: string,
  port: number,
  ms: number,
  zeroCopy = false,
): Promise<number> {
  const c = net.connect({ host, port });
  await new Promise<void>((res, rej) => c.once('connect', res).once('error', rej));
  // CHUNK never changes, as MSG_ZEROCOPY's completions would require of a Buffer written again.
  c.setZeroCopy(zeroCopy);
  let running = true;
  let written = 0;
  const pump = (): void => {
    while (running) {
      written += CHUNK.length;
      if (!c.write(CHUNK)) return;
    }
  };
  c.on('drain', pump);
  pump();
  await sleep(ms);
  running = false;
  const closed = new Promise<void>((res) => c.once('close', () => res()));
  c.on('data', () => {});
  c.end();
  // A peer that never closes must not hang the whole run (and the guard must not outlive it).
  let guard: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((r) => (guard = setTimeout(() => r(false), CLOSE_WAIT_MS)));
  const ok = await Promise.race([closed.then(() => true), late]);
  clearTimeout(guard);
  if (!ok) {
    c.destroy();
    throw new Error(`no close from ${host}:${port} ${CLOSE_WAIT_MS} ms after our FIN`);
  }
  return written;
}

/**
 * TCP_STREAM from `from` to `sinkBytes`'s server: bulk for warm-up + `ms`, counting at the receiver
 * only during the last `ms`. Gbps.
 */
export async function stream(
  from: Net,
  host: string,
  port: number,
  sinkBytes: () => number,
  ms: number,
  zeroCopy = false,
): Promise<number> {
  const warm = Math.min(300, ms / 3);
  let b0 = 0;
  let t0 = 0;
  let gbps = 0;
  const sampler = (async () => {
    await sleep(warm);
    b0 = sinkBytes();
    t0 = performance.now();
    await sleep(ms);
    gbps = ((sinkBytes() - b0) * 8) / ((performance.now() - t0) / 1000) / 1e9;
  })();
  await Promise.all([bulkSend(from, host, port, warm + ms + 20, zeroCopy), sampler]);
  return gbps;
}

/** TCP_RR's warm-up: this many transactions, or for at most this long (and no longer than the run). */
const RR_WARM = 30_000;
const RR_WARM_MS = 1500;

/**
 * TCP_RR: 1-byte request, 1-byte response on one NODELAY connection, counted for `ms` after a
 * warm-up. The JIT needs thousands of round trips, in every thread on the path: with sync loops in
 * workers, 1.5 s rounds on one connection gave 20 K, then 37–40 K tps (`bench/wake-latency.ts
 * --rounds 4`). Transactions/s.
 */
export async function rr(net: Net, host: string, port: number, ms: number): Promise<number> {
  const c = net.connect({ host, port });
  c.setNoDelay(true);
  await new Promise<void>((res, rej) => c.once('connect', res).once('error', rej));
  let n = 0;
  let t0 = performance.now();
  const warmEnd = t0 + Math.min(RR_WARM_MS, ms);
  let end = Infinity;
  await new Promise<void>((resolve) => {
    c.on('data', (d: Buffer) => {
      n += d.length;
      const now = performance.now();
      if (end === Infinity && (n >= RR_WARM || now >= warmEnd)) {
        n = 0;
        t0 = now;
        end = now + ms;
      }
      if (now < end) c.write(ONE);
      else resolve();
    });
    c.write(ONE);
  });
  const secs = (performance.now() - t0) / 1000;
  c.destroy();
  return n / secs;
}

/** Pings before pingUs measures: this many, or for this long if that comes first. */
const PING_WARM = 10_000;
const PING_WARM_MS = 1500;

/** Mean ICMP echo round trip in µs over `count` pings after the warm-up ones. */
export async function pingUs(
  ping: (host: string) => Promise<number>,
  host: string,
  count: number,
): Promise<number> {
  // Steady state: the echo path (ICMP, the promise, the timer) is code no other row runs, and V8
  // optimises it after a few thousand calls. Unwarmed, inline pings averaged 50–80 µs over the
  // first 500 and 6–7 µs after 10000 (worker: 140–300 against 28).
  const warmEnd = performance.now() + PING_WARM_MS;
  for (let i = 0; i < PING_WARM && performance.now() < warmEnd; i++) await ping(host);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += await ping(host);
  return (sum / count) * 1000;
}

/** Seed figures (kernel C, 2016–17: ptnet between two VMs over VALE). */
export const SEED = { stream: 21.7, rr: 46_700, ping: 28 };
export const SEED_NOTE = 'seed ptnet VALE (kernel C): 21.7 Gbps / 46.7 K tps / 28 µs';

export type Measure = 'stream' | 'rr' | 'ping';
export const UNIT: Record<Measure, string> = { stream: 'Gbps', rr: 'tps', ping: 'µs' };
const LABEL: Record<Measure, string> = { stream: 'TCP_STREAM', rr: 'TCP_RR', ping: 'ping' };

/** The row's reference: Linux over veth when measured, else the seed figure. */
export function reference(ref: LinuxReference, m: Measure): NonNullable<BenchRow['reference']> {
  const linux = { stream: ref.tcpStreamGbps, rr: ref.tcpRrTps, ping: ref.pingRttUs }[m];
  return linux !== null
    ? { name: `Linux⇄Linux veth ${LABEL[m]}`, value: linux, measured: true }
    : { name: `seed ptnet VALE ${LABEL[m]}`, value: SEED[m], measured: false };
}

/**
 * Issue 11's targets for unikernel ⇄ unikernel over VALE with offloads on: TCP_STREAM ≥ the seed's
 * 21.7 Gbps inline and ≥ 0.7 × that in workers, TCP_RR ≥ 100 K tps inline / 40 K in workers, ping
 * ≤ 10 µs inline / 40 µs in workers. Other rows (offloads off) have none.
 */
export function valeTarget(m: Measure, mode: 'inline' | 'worker', offloads: boolean): Target | undefined {
  if (!offloads) return undefined;
  const inline = mode === 'inline';
  switch (m) {
    case 'stream':
      return { value: inline ? SEED.stream : 0.7 * SEED.stream, higherIsBetter: true };
    case 'rr':
      return { value: inline ? 100_000 : 40_000, higherIsBetter: true };
    case 'ping':
      return { value: inline ? 10 : 40, higherIsBetter: false };
  }
}

export function row(
  name: string,
  m: Measure,
  value: number,
  ref: LinuxReference,
  note: string,
  target?: Target,
): BenchRow {
  const r: BenchRow = {
    name: `${LABEL[m]} ${name}`,
    value,
    unit: UNIT[m],
    reference: reference(ref, m),
    note,
  };
  if (target !== undefined) r.target = target;
  return r;
}
