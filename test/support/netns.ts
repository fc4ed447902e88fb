// Network-namespace plumbing shared by the root-only suites (oracle, interop, TAP tests): namespaces
// named `<prefix><pid>` so a later run can tell a dead run's leftovers from a parallel suite's, TAPs
// made persistent with `ip tuntap add` (they outlive their namespace unless deleted first), and the
// tc-mirred topology that turns whatever is written into a TAP into wire bytes on a veth.
import { execFileSync } from 'node:child_process';
import koffi from 'koffi';

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function ip(...args: string[]): void {
  run('ip', args);
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces starting with `prefix` whose process (the pid the name ends with) is gone. */
export function leftoverNamespaces(prefix: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix))
    .filter((n) => {
      const pid = Number(/(\d+)$/.exec(n)?.[1] ?? NaN);
      return !Number.isInteger(pid) || !alive(pid);
    });
}

/** Deletes the persistent `taps` of `ns` first, then `ns`; what is already gone is no error. */
export function destroyNamespace(ns: string, taps: readonly string[] = []): void {
  for (const tap of taps) quietly(() => ip('-n', ns, 'tuntap', 'del', 'dev', tap, 'mode', 'tap'));
  quietly(() => ip('netns', 'del', ns));
}

/**
 * `ns` created anew (a namespace left with the same name by a killed run is deleted first) holding
 * the persistent vnet_hdr TAPs `taps`, down; destroyNamespace(ns, taps) removes them all.
 */
export function freshNamespace(ns: string, taps: readonly string[] = []): void {
  destroyNamespace(ns, taps);
  ip('netns', 'add', ns);
  for (const tap of taps) ip('-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap', 'vnet_hdr');
}

/** No IPv6 in `ns`, so no ND/MLD frames on its links. */
export function disableIpv6(ns: string): void {
  ip(
    'netns',
    'exec',
    ns,
    'sysctl',
    '-qw',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  );
}

/**
 * Every frame written into `tap` (an existing vnet_hdr TAP in `ns`) is redirected by tc mirred out
 * of a new veth `veth` whose TX offloads are off, so the kernel's software GSO and checksum code
 * produce the wire bytes that a capture on its peer `peer` sees. `mtu` (both veth ends) keeps
 * long unsegmented frames from being dropped at the veth.
 */
export function mirrorTapToVeth(ns: string, tap: string, veth: string, peer: string, mtu?: number): void {
  ip('-n', ns, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', peer);
  if (mtu !== undefined) for (const d of [veth, peer]) ip('-n', ns, 'link', 'set', d, 'mtu', String(mtu));
  ip('netns', 'exec', ns, 'ethtool', '-K', veth, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'sg', 'off');
  for (const d of [tap, veth, peer]) ip('-n', ns, 'link', 'set', d, 'up');
  run('tc', ['-n', ns, 'qdisc', 'add', 'dev', tap, 'ingress']);
  run('tc', [
    '-n', ns, 'filter', 'add', 'dev', tap, 'parent', 'ffff:', 'protocol', 'all', 'prio', '1',
    'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', veth,
  ]); // prettier-ignore
}

/** Runs `node --import tsx ARGS…` inside `ns` (a probe script or `-e` code) and returns its stdout. */
export function nsTsx(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', ...args], {
    encoding: 'utf8',
  });
}

const CLONE_NEWNET = 0x40000000;
const O_RDONLY_CLOEXEC = 0o2000000;

interface Libc {
  open(p: string, f: number): number;
  close(fd: number): number;
  setns(fd: number, t: number): number;
}

function libc(): Libc {
  const lib = koffi.load('libc.so.6');
  return {
    open: lib.func('int open(const char *path, int flags)') as Libc['open'],
    close: lib.func('int close(int fd)') as Libc['close'],
    setns: lib.func('int setns(int fd, int nstype)') as Libc['setns'],
  };
}

function openNs(c: Libc, path: string): number {
  const fd = c.open(path, O_RDONLY_CLOEXEC);
  if (fd < 0) throw new Error(`open ${path}: errno ${koffi.errno()}`);
  return fd;
}

function setnsFd(c: Libc, fd: number, what: string): void {
  const r = c.setns(fd, CLONE_NEWNET);
  const err = koffi.errno();
  c.close(fd);
  if (r < 0) throw new Error(`setns ${what}: errno ${err}`);
}

/**
 * Moves the calling thread into the named netns (/run/netns/NAME), as `ip netns exec` does for a
 * child: what it opens afterwards (a TAP) belongs to that namespace. For helpers that join two.
 */
export function enterNetns(name: string): void {
  const c = libc();
  setnsFd(c, openNs(c, `/run/netns/${name}`), name);
}

/**
 * Runs `fn` with the calling thread in the named netns, then returns it to the namespace it was
 * in: descriptors opened by `fn` (a TAP) stay bound to the named namespace.
 */
export function inNetns<T>(name: string, fn: () => T): T {
  const c = libc();
  const home = openNs(c, '/proc/thread-self/ns/net');
  try {
    setnsFd(c, openNs(c, `/run/netns/${name}`), name);
  } catch (e) {
    c.close(home);
    throw e;
  }
  try {
    return fn();
  } finally {
    setnsFd(c, home, 'back');
  }
}
