// `ptnet-ts pkt-gen`: netmap's pkt-gen between two ptnet guests. Guest A transmits 60-byte (or
// --size) frames from its netmap-native port, guest B receives, over a host pipe or a VALE switch
// with the sync loop inline or in worker threads; prints Mpps for both ends.
import { Machine } from '../device/index.ts';
import { PtnetAdapter, PtnetNetmapPort, runPktGen, type PktGenSide } from '../driver/index.ts';
import { DeviceError } from '../device/errors.ts';
import { DriverError } from '../driver/errors.ts';
import {
  HostError,
  SyncKloop,
  ValeSwitch,
  createPipe,
  type KloopMode,
  type NetmapPort,
} from '../host/index.ts';
import { parseOrExit } from './usage.ts';

export interface PktGenScenario {
  backend: 'pipe' | 'vale';
  mode: KloopMode;
  size: number;
  batch: number;
  seconds: number;
  slots: number;
  /** How long the receiver waits for stragglers once the sender is done. */
  idleMs?: number;
}

export interface PktGenResult extends PktGenScenario {
  tx: PktGenSide;
  rx: PktGenSide;
  /** Packets the host dropped (VALE drops when a destination ring is full; it does not push back). */
  hostDrops: number;
}

function guest(port: NetmapPort, mode: KloopMode, loops: SyncKloop[]): PtnetNetmapPort {
  const machine = new Machine({ size: 16 * 4096 });
  machine.addPtnet(port, (p, csb, irq) => {
    const loop = new SyncKloop(p, csb, irq, mode);
    loops.push(loop);
    return loop;
  });
  return new PtnetNetmapPort(PtnetAdapter.attach(machine));
}

/** Builds the two guests, runs pkt-gen between them, detaches both. */
export async function runPktGenScenario(s: PktGenScenario): Promise<PktGenResult> {
  let ports: [NetmapPort, NetmapPort];
  if (s.backend === 'pipe') {
    ports = createPipe(`pkt-gen-${s.mode}`, { slots: s.slots });
  } else {
    const vale = new ValeSwitch(`vale-pg-${s.mode}`, {});
    ports = [vale.attach('a'), vale.attach('b')];
  }
  const loops: SyncKloop[] = [];
  const a = guest(ports[0], s.mode, loops);
  const b = guest(ports[1], s.mode, loops);
  try {
    // A worker loop takes a while to boot (tsx in a new thread); measure the datapath, not that.
    await Promise.all(loops.map((l) => l.ready()));
    const r = await runPktGen(a, b, {
      size: s.size,
      batch: s.batch,
      durationMs: s.seconds * 1000,
      idleMs: s.idleMs,
    });
    const drops = Object.values(ports[1].datapath.drops()).reduce((x, y) => x + y, 0);
    return { ...s, tx: r.tx, rx: r.rx, hostDrops: drops };
  } finally {
    a.adapter.detach();
    b.adapter.detach();
  }
}

const USAGE =
  'usage: ptnet-ts pkt-gen [--backend pipe|vale] [--mode inline|worker] [--size N] [--batch N] [--seconds N] [--slots N] [--idle-ms N] [--json]';

function parse(args: string[]): (PktGenScenario & { json: boolean }) | string {
  const s = {
    backend: 'pipe',
    mode: 'inline',
    size: 60,
    batch: 256,
    seconds: 2,
    slots: 1024,
    idleMs: 100,
    json: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') {
      s.json = true;
      continue;
    }
    const v = args[++i];
    if (v === undefined) return `missing value for ${a}`;
    switch (a) {
      case '--backend':
        if (v !== 'pipe' && v !== 'vale') return `--backend must be pipe or vale`;
        s.backend = v;
        break;
      case '--mode':
        if (v !== 'inline' && v !== 'worker') return `--mode must be inline or worker`;
        s.mode = v;
        break;
      case '--size':
      case '--batch':
      case '--seconds':
      case '--slots':
      case '--idle-ms': {
        const n = Number(v);
        const key = a === '--idle-ms' ? 'idleMs' : (a.slice(2) as 'size' | 'batch' | 'seconds' | 'slots');
        // Bounds of what the pieces accept: a pipe ring of 2..4096 slots (createPipe), an idle
        // cut-off a timer can hold (setInterval clamps beyond 2^31-1 ms to 1 ms).
        const ok =
          key === 'seconds'
            ? n > 0 && n <= 3600
            : Number.isInteger(n) &&
              n > 0 &&
              (key !== 'slots' || (n >= 2 && n <= 4096)) &&
              (key !== 'idleMs' || n <= 60_000) &&
              (key !== 'batch' || n <= 65536);
        if (!ok) return `bad value for ${a}: ${v}`;
        if (key === 'size' && (n < 60 || n > 2048 - 12)) return '--size must be 60..2036 (one slot)';
        s[key] = n;
        break;
      }
      default:
        return `unknown option ${a}`;
    }
  }
  return s as PktGenScenario & { json: boolean };
}

export async function run(args: string[]): Promise<number> {
  const s = parseOrExit('pkt-gen', USAGE, args, parse);
  if (typeof s === 'number') return s;
  let r: PktGenResult;
  try {
    r = await runPktGenScenario(s);
  } catch (e) {
    // The host and driver refuse what they cannot build (ring sizes, a worker that fails to
    // start) with typed errors: one line, exit 2.
    if (!(e instanceof HostError || e instanceof DriverError || e instanceof DeviceError)) throw e;
    process.stderr.write(`ptnet-ts pkt-gen: ${e.message}\n`);
    return 2;
  }
  if (s.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    const line = (who: string, x: PktGenSide): string =>
      `${who}  ${x.packets} packets in ${x.seconds.toFixed(3)} s  ${x.mpps.toFixed(3)} Mpps  ${((x.bytes * 8) / x.seconds / 1e9).toFixed(3)} Gbps`;
    process.stdout.write(
      `pkt-gen ${s.backend} ${s.mode} size ${s.size} batch ${s.batch}\n${line('tx', r.tx)}\n${line('rx', r.rx)}\nhost drops ${r.hostDrops}\n`,
    );
  }
  return 0;
}
