// Interop plumbing: a network namespace holding a vnet_hdr TAP with the kernel's address on it,
// `ptnet-ts tap-serve` started inside it, and kernel-side clients run with `ip netns exec`.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { destroyNamespace as destroyNs, freshNamespace, leftoverNamespaces } from '../support/netns.ts';

export const NS_PREFIX = 'ptnet-interop-';
export const TAP = 'itap0';
export const KERNEL_ADDR = '10.78.0.1';
export const UK_ADDR = '10.78.0.2';
export const KERNEL_ADDR6 = 'fd00:78::1';
export const UK_ADDR6 = 'fd00:78::2';
export const BIN = new URL('../../bin/ptnet-ts.js', import.meta.url).pathname;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Namespaces of earlier runs whose process (the pid the name ends with) is gone. */
export function removeLeftovers(): void {
  for (const n of leftoverNamespaces(NS_PREFIX)) destroyNamespace(n);
}

/** A fresh namespace `ns` with lo up and the persistent TAP at KERNEL_ADDR/24 and KERNEL_ADDR6/64. */
export function createNamespace(ns: string): void {
  freshNamespace(ns, [TAP]);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'addr', 'add', `${KERNEL_ADDR}/24`, 'dev', TAP);
  // nodad: the address is usable at once (the unikernel's own DAD still runs against it).
  ip('-n', ns, 'addr', 'add', `${KERNEL_ADDR6}/64`, 'dev', TAP, 'nodad');
  ip('-n', ns, 'link', 'set', TAP, 'up');
}

/** The persistent TAP first (it would outlive the namespace), then the namespace. */
export function destroyNamespace(ns: string): void {
  destroyNs(ns, [TAP]);
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` inside `ns` without blocking the event loop (tap-serve's output keeps flowing). */
export function nsRun(ns: string, cmd: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, cmd, ...args],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `ptnet-ts tap-serve` in the namespace, its stdout collected line by line. */
export class TapServe {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private waiters: { re: RegExp; resolve: (l: string) => void }[] = [];

  constructor(ns: string, extra: string[]) {
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        BIN,
        'tap-serve',
        '--tap',
        TAP,
        '--ipv4',
        `${UK_ADDR}/24`,
        '--ipv6',
        `${UK_ADDR6}/64`,
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.waiters = this.waiters.filter((w) => {
        if (!w.re.test(l)) return true;
        w.resolve(l);
        return false;
      });
    });
    createInterface({ input: this.child.stderr! }).on('line', (l) => this.stderr.push(l));
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  /** The first line (already printed or still to come) matching `re`. */
  waitFor(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        reject(
          new Error(
            `no line matching ${re} after ${timeoutMs} ms; stdout: ${this.lines.join(' | ')}; stderr: ${this.stderr.join(' | ')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
      // An early exit (bad TAP, crash) fails at once instead of at the timeout.
      void this.exited.then((code) => {
        clearTimeout(t);
        reject(new Error(`tap-serve exited (${code}) before ${re}: ${this.stderr.join(' | ')}`));
      });
    });
  }

  /** Sends `sig` and resolves with the exit code. */
  stop(sig: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.child.kill(sig);
    return this.exited;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
}

/**
 * The kernel as a TCP client (python3): sends `n` bytes of a fixed pseudo-random pattern to
 * host:port, reads whatever comes back, then either half-closes and waits for the peer's close
 * ('fin') or resets the connection with SO_LINGER 0 ('rst'). Prints one JSON line.
 */
export const KERNEL_SENDER = `
import hashlib, json, socket, struct, sys, threading
host, port, n, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.create_connection((host, port), timeout=60)
lport = s.getsockname()[1]
chunk = bytes((i * 7 + 3) & 0xff for i in range(65536))
tx, rx, got = hashlib.sha256(), hashlib.sha256(), [0]
def reader():
    try:
        while True:
            d = s.recv(1 << 20)
            if not d: break
            rx.update(d); got[0] += len(d)
    except OSError:
        pass
t = threading.Thread(target=reader); t.start()
sent = 0
while sent < n:
    c = chunk[: min(len(chunk), n - sent)]
    s.sendall(c); tx.update(c); sent += len(c)
if end == 'rst':
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.shutdown(socket.SHUT_RD)  # wakes the reader; sends nothing
    t.join()
    s.close()
else:
    s.shutdown(socket.SHUT_WR)
t.join()
print(json.dumps({"sent": sent, "sha256": tx.hexdigest(), "received": got[0], "rxSha256": rx.hexdigest(), "port": lport}))
`;

/** The kernel as a UDP client: each argument is a datagram size; prints the sizes echoed intact. */
export const KERNEL_UDP = `
import json, os, socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(2)
ok = []
for n in map(int, sys.argv[2:]):
    m = os.urandom(n)
    s.sendto(m, (host, 7))
    d, a = s.recvfrom(65535)
    ok.append(n if d == m and a[:2] == (host, 7) else -1)
print(json.dumps(ok))
`;

/** The kernel reads part of a large HTTP response, then closes with unread data (an RST). */
export const KERNEL_HTTP_ABORT = `
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=10)  # v4 or v6
s.sendall(b'GET /bytes/100000000 HTTP/1.1\\r\\nHost: u\\r\\n\\r\\n')
got = 0
while got < 1000000:
    d = s.recv(65536)
    if not d: break
    got += len(d)
s.close()
print(got)
`;
