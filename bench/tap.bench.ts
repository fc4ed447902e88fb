// TAP port receive rate (issue 7): a kernel UDP sender (python3) in a network namespace blasts
// datagrams at the address behind a vnet_hdr tap; a netmap application on the TAP port drains its
// RX ring (kloop inline and in a worker) and counts frames and bytes. Two loads: plain 1472-byte
// datagrams (one frame each) and UDP_SEGMENT 1400 × 40 sends, which a USO-capable tap hands over
// as one 56 054-byte super-frame. The reference is what the sender offered in the same run, so
// the ratio is the share of the kernel's output the port took (the rest the tap drops when its
// 1000-frame queue is full). Needs root, ip and python3; skipped otherwise.
//
// The same file is the application: `ip netns exec NS node --import tsx bench/tap.bench.ts --app
// MODE MS TAP` prints `ready`, then one JSON line { frames, bytes, seconds }.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSuite } from './harness.ts';
import { NS_MOREFRAG } from '../src/netmap/constants.ts';
import { type KloopMode, SyncKloop, openTapPort } from '../src/host/index.ts';
import { GuestRing, makeCsb, ringsFromIf } from '../test/host/guest.ts';

const TAP = 'ptb0';
const KERNEL_IP = '10.81.0.1';
const APP_IP = '10.81.0.2';
const APP_MAC = '02:00:00:00:81:02';
const WARM_MS = 300;

/** The application side, inside the namespace. */
async function app(mode: KloopMode, ms: number, tap: string): Promise<void> {
  const mac = Uint8Array.from(APP_MAC.split(':'), (h) => parseInt(h, 16));
  const port = openTapPort(tap, { mac });
  const csb = makeCsb();
  const kloop = new SyncKloop(port, csb, () => {}, mode);
  kloop.start();
  await kloop.ready();
  const rings = ringsFromIf(port.region, port.nifpOffset);
  const rx = new GuestRing(port.region, rings.rx[0]!, csb, port.numTxRings, false, (r) => kloop.kick(r));
  rx.syncFromCsb();
  console.log('ready');
  let frames = 0;
  let bytes = 0;
  let started = 0;
  let t0 = 0;
  let f0 = 0;
  let b0 = 0;
  for (;;) {
    rx.rxsync();
    let i = rx.head;
    const tail = rx.tail;
    while (i !== tail) {
      bytes += rx.len(i);
      if ((rx.flags(i) & NS_MOREFRAG) === 0) frames++;
      i = rx.next(i);
    }
    const got = i !== rx.head;
    rx.head = rx.cur = i;
    const now = performance.now();
    if (frames > 0 && started === 0) started = now;
    if (started !== 0 && t0 === 0 && now - started >= WARM_MS) {
      t0 = now;
      f0 = frames;
      b0 = bytes;
    }
    if (t0 !== 0 && now - t0 >= ms) {
      console.log(JSON.stringify({ frames: frames - f0, bytes: bytes - b0, seconds: (now - t0) / 1000 }));
      break;
    }
    // Inline, the readiness thread's doorbell is seen from this thread's event loop.
    if (!got) await new Promise((r) => setImmediate(r));
  }
  kloop.stop();
  port.close();
}

const SENDER = `
import socket, sys, time
seg, size, dur = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if seg:
    s.setsockopt(socket.SOL_UDP, 103, seg)  # UDP_SEGMENT
buf = bytes(size)
n = 0
t0 = time.time()
end = t0 + dur
while time.time() < end:
    for _ in range(64):
        try:
            s.sendto(buf, ('${APP_IP}', 9))
            n += 1
        except OSError:
            pass
print(n, time.time() - t0)
`;

interface Load {
  name: string;
  seg: number;
  size: number;
}
const LOADS: Load[] = [
  { name: 'UDP 1472 B', seg: 0, size: 1472 },
  { name: 'USO 40 × 1400 B', seg: 1400, size: 56_000 },
];

function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const t of ['ip', 'python3']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `missing ${t}`;
  }
  return null;
}

/** One run: the app drains for `ms` while the sender blasts; frames/s, Gbps received and offered. */
async function measure(ns: string, mode: KloopMode, load: Load, ms: number): Promise<number[]> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--import', 'tsx', self, '--app', mode, String(ms), TAP],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const ready = new Promise<void>((res) =>
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) res();
    }),
  );
  const closed = new Promise<void>((res) => child.on('close', () => res()));
  await Promise.race([ready, closed]);
  // Carrier reaches the qdisc through linkwatch, up to ~1 s after the fd attaches.
  for (let i = 0; i < 40; i++) {
    if (
      execFileSync('ip', ['-n', ns, '-o', 'link', 'show', 'dev', TAP], { encoding: 'utf8' }).includes(
        'LOWER_UP',
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const dur = (ms + WARM_MS + 500) / 1000;
  const sender = spawn(
    'ip',
    ['netns', 'exec', ns, 'python3', '-c', SENDER, String(load.seg), String(load.size), String(dur)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let sout = '';
  sender.stdout.on('data', (d: Buffer) => (sout += d.toString()));
  const sent = new Promise<void>((res) => sender.on('close', () => res()));
  await closed;
  await sent;
  const line = out.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('{')) return [0, 0, 0];
  const r = JSON.parse(line) as { frames: number; bytes: number; seconds: number };
  const [n, secs] = sout.trim().split(' ').map(Number) as [number, number];
  // Both sides in Ethernet frame bytes (the ring's count less each frame's 12-byte vnet header).
  const eth = r.bytes - 12 * r.frames;
  return [r.frames / r.seconds, (eth * 8) / r.seconds / 1e9, (n * (load.size + 42) * 8) / secs / 1e9];
}

export const tapSuite: BenchSuite = {
  name: 'tap',
  async run({ quick }): Promise<BenchRow[]> {
    const why = unavailable();
    if (why !== null) {
      return [{ name: 'TAP port RX', value: 0, unit: 'Gbps', note: `skipped: ${why}` }];
    }
    const ns = `ptnet-tbench-${process.pid}`;
    const sh = (...a: string[]): void => void execFileSync(a[0]!, a.slice(1), { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    const rows: BenchRow[] = [];
    try {
      sh('ip', 'netns', 'add', ns);
      sh('ip', '-n', ns, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap', 'vnet_hdr');
      sh('ip', '-n', ns, 'addr', 'add', `${KERNEL_IP}/24`, 'dev', TAP);
      sh('ip', '-n', ns, 'link', 'set', TAP, 'up');
      sh('ip', '-n', ns, 'neigh', 'replace', APP_IP, 'lladdr', APP_MAC, 'dev', TAP, 'nud', 'permanent');
      sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
      const ms = quick ? 250 : 3000;
      for (const mode of ['inline', 'worker'] as const) {
        for (const load of LOADS) {
          const [fps, gbps, offered] = (await measure(ns, mode, load, ms)) as [number, number, number];
          const ref = { name: 'kernel UDP sender offered', value: offered, measured: true };
          rows.push({ name: `TAP RX ${load.name}, ${mode}`, value: gbps, unit: 'Gbps', reference: ref });
          rows.push({ name: `TAP RX ${load.name}, ${mode}`, value: fps / 1e3, unit: 'Kframes/s' });
        }
      }
    } finally {
      spawnSync('ip', ['-n', ns, 'tuntap', 'del', 'dev', TAP, 'mode', 'tap'], { stdio: 'ignore' });
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
    return rows;
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--app') {
  await app(process.argv[3] as KloopMode, Number(process.argv[4]), process.argv[5]!);
}
