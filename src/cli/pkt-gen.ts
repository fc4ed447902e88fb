// `ptnet-ts pkt-gen`: netmap's pkt-gen between two ptnet guests. Guest A transmits 60-byte (or
// --size) frames from its netmap-native port, guest B receives, over a host pipe or a VALE switch
// with the sync loop inline or in worker threads; prints Mpps for both ends, and on runs past a
// second a progress line per second on stderr.
import { Machine } from '../device/index.ts';
import { PtnetAdapter, PtnetNetmapPort, runPktGen, type PktGenSide } from '../driver/index.ts';
import { DeviceError } from '../device/errors.ts';
import { DriverError } from '../driver/errors.ts';
import {
  HostError,
  KloopThread,
  SyncKloop,
  ValeSwitch,
  createPipe,
  type KloopMode,
  type KloopOptions,
  type NetmapPort,
} from '../host/index.ts';
import { fail, numberOption, parseCommand, type CommandSpec } from './usage.ts';

export interface PktGenScenario {
  backend: 'pipe' | 'vale';
  mode: KloopMode;
  /** worker mode: both ports served by one sync-loop thread (KloopThread) instead of one each. */
  sharedKloop?: boolean;
  size: number;
  batch: number;
  seconds: number;
  slots: number;
  /** How long the receiver waits for stragglers once the sender is done. */
  idleMs?: number;
  /** Sent before the measured window opens, ms (the JIT's warm-up; default 0). */
  warmupMs?: number;
}

export interface PktGenResult extends PktGenScenario {
  tx: PktGenSide;
  rx: PktGenSide;
  /** Packets the host dropped (VALE drops when a destination ring is full; it does not push back). */
  hostDrops: number;
}

/**
 * A guest machine with a ptnet for `port` in netmap-native mode, its sync loop in `mode` with
 * `opts` (pushed to `loops`).
 */
export function pktGenGuest(
  port: NetmapPort,
  mode: KloopMode,
  loops: SyncKloop[],
  opts: KloopOptions = {},
): PtnetNetmapPort {
  const machine = new Machine({ size: 16 * 4096 });
  machine.addPtnet(port, (p, csb, irq) => {
    const loop = new SyncKloop(p, csb, irq, mode, opts);
    loops.push(loop);
    return loop;
  });
  return new PtnetNetmapPort(PtnetAdapter.attach(machine));
}

/** Packets moved so far at each end, for a progress display. */
export interface PktGenProgress {
  ms: number;
  txPackets: number;
  rxPackets: number;
}

/**
 * Counts the slots `port` hands over on ring 0 by watching its head at every txsync/rxsync:
 * src/driver's pkt-gen loops report only at the end, and in inline mode they never yield to a
 * timer, so the count has to ride on the calls they make anyway (one per batch).
 */
function countSlots(port: PtnetNetmapPort, dir: 'tx' | 'rx', onSync: () => void): () => number {
  const ring = dir === 'tx' ? port.txRing(0) : port.rxRing(0);
  const n = ring.numSlots;
  let last = ring.head;
  let total = 0;
  const sync = dir === 'tx' ? port.txsync.bind(port) : port.rxsync.bind(port);
  const counted = (i: number): boolean => {
    total += (ring.head - last + n) % n;
    last = ring.head;
    onSync();
    return sync(i);
  };
  if (dir === 'tx') port.txsync = counted;
  else port.rxsync = counted;
  return () => total;
}

/**
 * Builds the two guests, runs pkt-gen between them, detaches both. With `onProgress`, calls it
 * about once per second of the run with the packets moved so far.
 */
export async function runPktGenScenario(
  s: PktGenScenario,
  onProgress?: (p: PktGenProgress) => void,
): Promise<PktGenResult> {
  let ports: [NetmapPort, NetmapPort];
  if (s.backend === 'pipe') {
    ports = createPipe(`pkt-gen-${s.mode}`, { slots: s.slots });
  } else {
    const vale = new ValeSwitch(`vale-pg-${s.mode}`, {});
    ports = [vale.attach('a'), vale.attach('b')];
  }
  const loops: SyncKloop[] = [];
  const opts = s.mode === 'worker' && s.sharedKloop === true ? { thread: new KloopThread() } : {};
  const a = pktGenGuest(ports[0], s.mode, loops, opts);
  const b = pktGenGuest(ports[1], s.mode, loops, opts);
  try {
    // A worker loop takes a while to boot (tsx in a new thread); measure the datapath, not that.
    await Promise.all(loops.map((l) => l.ready()));
    if (onProgress !== undefined) {
      const t0 = performance.now();
      let next = t0 + 1000;
      const tick = (): void => {
        const t = performance.now();
        if (t < next) return;
        // On the second marks of the run; a stall skips marks rather than bunching lines.
        next += 1000 * Math.ceil((t - next + 1) / 1000);
        onProgress({ ms: t - t0, txPackets: txCount(), rxPackets: rxCount() });
      };
      const txCount = countSlots(a, 'tx', tick);
      const rxCount = countSlots(b, 'rx', tick);
    }
    const r = await runPktGen(a, b, {
      size: s.size,
      batch: s.batch,
      durationMs: s.seconds * 1000,
      idleMs: s.idleMs,
      ...(s.warmupMs === undefined ? {} : { warmupMs: s.warmupMs }),
    });
    const drops = Object.values(ports[1].datapath.drops()).reduce((x, y) => x + y, 0);
    return { ...s, tx: r.tx, rx: r.rx, hostDrops: drops };
  } finally {
    a.adapter.detach();
    b.adapter.detach();
  }
}

const USAGE = `usage: ptnet-ts pkt-gen [--backend pipe|vale] [--mode inline|worker] [--shared-kloop]
                       [--size N] [--batch N] [--seconds N] [--warmup-ms N] [--slots N]
                       [--idle-ms N] [--json]
  netmap's pkt-gen between two ptnet guests: A sends --size byte frames (60..2036, default 60)
  in batches of N (default 256) for --warmup-ms (default 0), then --seconds (default 2) measured,
  over a host pipe of --slots (2..4096, default 1024) or a VALE switch; B receives. --shared-kloop (worker mode): one sync-loop thread
  serves both ports instead of one thread each. Prints packets and Mpps at both ends (--json: one
  object). Progress goes to stderr once per second (not with --json unless stderr is a terminal).
  Exit 0 ok, 2 on a usage error or a setup the host refuses (one line; JSON with --json).`;

const SPEC: CommandSpec<PktGenScenario & { json: boolean }> = {
  cmd: 'pkt-gen',
  usage: USAGE,
  options: {
    backend: { type: 'string' },
    mode: { type: 'string' },
    size: { type: 'string' },
    batch: { type: 'string' },
    seconds: { type: 'string' },
    slots: { type: 'string' },
    'idle-ms': { type: 'string' },
    'warmup-ms': { type: 'string' },
    'shared-kloop': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  build(v, positionals) {
    if (positionals.length > 0) return `unexpected argument ${JSON.stringify(positionals[0])}`;
    const backend = v.backend ?? 'pipe';
    if (backend !== 'pipe' && backend !== 'vale') return '--backend must be pipe or vale';
    const mode = v.mode ?? 'inline';
    if (mode !== 'inline' && mode !== 'worker') return '--mode must be inline or worker';
    const sharedKloop = v['shared-kloop'] === true;
    if (sharedKloop && mode !== 'worker') return '--shared-kloop needs --mode worker';
    // Bounds of what the pieces accept: one slot holds 2048 bytes with the 12-byte virtio-net
    // header; a pipe ring has 2..4096 slots (createPipe); setInterval clamps beyond 2^31-1 ms.
    const size = numberOption('--size', v.size, 60, 60, 2048 - 12, true);
    const batch = numberOption('--batch', v.batch, 256, 1, 65536, true);
    const seconds = numberOption('--seconds', v.seconds, 2, 0.001, 3600, false);
    const slots = numberOption('--slots', v.slots, 1024, 2, 4096, true);
    const idleMs = numberOption('--idle-ms', v['idle-ms'], 100, 1, 60_000, true);
    const warmupMs = numberOption('--warmup-ms', v['warmup-ms'], 0, 0, 60_000, true);
    for (const x of [size, batch, seconds, slots, idleMs, warmupMs]) if (typeof x === 'string') return x;
    return {
      backend,
      mode,
      sharedKloop,
      size: size as number,
      batch: batch as number,
      seconds: seconds as number,
      slots: slots as number,
      idleMs: idleMs as number,
      warmupMs: warmupMs as number,
      json: v.json === true,
    };
  },
};

const mpkts = (n: number): string => `${(n / 1e6).toFixed(2)} Mpkts`;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(SPEC, args);
  if (typeof parsed === 'number') return parsed;
  const { o: s, cli } = parsed;
  // Progress is for people: a line a second on stderr, kept out of --json output unless a
  // terminal shows it (the convention of `demo`).
  const showProgress = !s.json || process.stderr.isTTY === true;
  const progress = (p: PktGenProgress): void => {
    const sec = p.ms / 1000;
    process.stderr.write(
      `pkt-gen: ${sec.toFixed(1)}/${s.seconds} s  tx ${mpkts(p.txPackets)} (${(p.txPackets / sec / 1e6).toFixed(3)} Mpps)  rx ${mpkts(p.rxPackets)}\n`,
    );
  };
  let r: PktGenResult;
  try {
    r = await runPktGenScenario(s, showProgress ? progress : undefined);
  } catch (e) {
    // The host and driver refuse what they cannot build (ring sizes, a worker that fails to
    // start) with typed errors: one line, exit 2.
    if (e instanceof HostError || e instanceof DriverError || e instanceof DeviceError) {
      return fail(cli, e.code, e.message);
    }
    throw e;
  }
  if (s.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    const line = (who: string, x: PktGenSide): string =>
      `${who}  ${x.packets} packets in ${x.seconds.toFixed(3)} s  ${x.mpps.toFixed(3)} Mpps  ${((x.mpps * 1e6 * (x.packets > 0 ? x.bytes / x.packets : 0) * 8) / 1e9).toFixed(3)} Gbps${x.warmupPackets > 0 ? ` (after ${x.warmupPackets} warm-up packets)` : ''}`;
    process.stdout.write(
      `pkt-gen ${s.backend} ${s.mode}${s.sharedKloop === true ? ' (shared kloop)' : ''} size ${s.size} batch ${s.batch}\n${line('tx', r.tx)}\n${line('rx', r.rx)}\nhost drops ${r.hostDrops}\n`,
    );
  }
  return 0;
}
