// Oracle direction B: kernel TCP and UDP senders in netns A talk to netns B through two TAPs
// joined by relay-helper.ts; the buffers read from A's TAP (offloads on) are real Linux GSO frames.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyNamespace, freshNamespace, leftoverNamespaces } from '../../support/netns.ts';
import { NS_PREFIX } from './topology.ts';

const HELPER = fileURLToPath(new URL('./relay-helper.ts', import.meta.url));
const TAP_A = 'rtapa';
const TAP_B = 'rtapb';

export interface Recorded {
  /** The 12-byte virtio-net header as read. */
  vnet: Uint8Array;
  frame: Uint8Array;
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function side(ns: string, tap: string, me: number, peer: number): void {
  const ip = (...a: string[]): string => run('ip', ['-n', ns, ...a]);
  freshNamespace(ns, [tap]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'set', tap, 'address', `02:00:00:00:01:0${me}`);
  ip('addr', 'add', `10.99.1.${me}/24`, 'dev', tap);
  ip('-6', 'addr', 'add', `fd00:99:1::${me}/64`, 'dev', tap, 'nodad');
  ip('link', 'set', tap, 'up');
  ip('neigh', 'add', `10.99.1.${peer}`, 'lladdr', `02:00:00:00:01:0${peer}`, 'dev', tap, 'nud', 'permanent');
  ip(
    '-6',
    'neigh',
    'add',
    `fd00:99:1::${peer}`,
    'lladdr',
    `02:00:00:00:01:0${peer}`,
    'dev',
    tap,
    'nud',
    'permanent',
  );
}

const RECEIVER = `
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', int(sys.argv[2])))
s.listen(1)
print('listening', flush=True)
c, _ = s.accept()
n = 0
while True:
    d = c.recv(1 << 20)
    if not d: break
    n += len(d)
print(n, flush=True)
`;

const SENDER = `
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET
s = socket.create_connection((sys.argv[2], int(sys.argv[3])))
s.sendall(bytes((i * 7) & 255 for i in range(int(sys.argv[4]))))
s.shutdown(socket.SHUT_WR)
s.recv(1)
s.close()
`;

// UDP_SEGMENT (103 at SOL_UDP) makes the socket hand the stack one USO super-datagram.
const USO_SENDER = `
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(17, 103, int(sys.argv[5]))
s.sendto(bytes((i * 3) & 255 for i in range(int(sys.argv[4]))), (sys.argv[2], int(sys.argv[3])))
`;

export interface Traffic {
  tcp4Bytes: number;
  tcp6Bytes: number;
  /** [payload, gso_size] per USO datagram, sent over IPv4 then IPv6. */
  uso: [number, number][];
}

/** Runs the senders and returns every buffer Linux handed the TAP reader in netns A. */
export async function recordLinuxGso(t: Traffic): Promise<Recorded[]> {
  const nsA = `${NS_PREFIX}a${process.pid}`;
  const nsB = `${NS_PREFIX}b${process.pid}`;
  for (const ns of leftoverNamespaces(`${NS_PREFIX}a`).concat(leftoverNamespaces(`${NS_PREFIX}b`))) {
    destroyNamespace(ns, [ns.startsWith(`${NS_PREFIX}a`) ? TAP_A : TAP_B]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ptnet-reverse-'));
  const out = join(dir, 'rec.bin');
  try {
    side(nsA, TAP_A, 1, 2);
    side(nsB, TAP_B, 2, 1);
    const relay = spawn(process.execPath, ['--import', 'tsx', HELPER, nsA, TAP_A, nsB, TAP_B, out], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      relay.stdout.once('data', () => resolve());
      relay.once('exit', (c) => reject(new Error(`relay exited ${c}`)));
    });
    const tcp = async (v: '4' | '6', bytes: number, port: number): Promise<void> => {
      if (bytes === 0) return;
      const rx = spawn('ip', ['netns', 'exec', nsB, 'python3', '-c', RECEIVER, v, String(port)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise((r) => rx.stdout.once('data', r));
      const dst = v === '6' ? 'fd00:99:1::2' : '10.99.1.2';
      run('ip', ['netns', 'exec', nsA, 'python3', '-c', SENDER, v, dst, String(port), String(bytes)]);
      await new Promise((r) => rx.once('exit', r));
    };
    await tcp('4', t.tcp4Bytes, 5001);
    await tcp('6', t.tcp6Bytes, 5003);
    for (const v of ['4', '6'] as const) {
      const dst = v === '6' ? 'fd00:99:1::2' : '10.99.1.2';
      for (const [bytes, gso] of t.uso) {
        run('ip', [
          'netns',
          'exec',
          nsA,
          'python3',
          '-c',
          USO_SENDER,
          v,
          dst,
          '5002',
          String(bytes),
          String(gso),
        ]);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    relay.stdin.end();
    await new Promise((r) => relay.once('exit', r));
    const data = readFileSync(out);
    const recs: Recorded[] = [];
    for (let off = 0; off + 4 <= data.length;) {
      const n = data.readUInt32LE(off);
      const b = new Uint8Array(data.subarray(off + 4, off + 4 + n));
      recs.push({ vnet: b.subarray(0, 12), frame: b.subarray(12) });
      off += 4 + n;
    }
    return recs;
  } finally {
    destroyNamespace(nsA, [TAP_A]);
    destroyNamespace(nsB, [TAP_B]);
    rmSync(dir, { recursive: true, force: true });
  }
}
