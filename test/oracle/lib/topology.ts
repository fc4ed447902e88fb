// The oracle namespace of the recipe (spec §5.2/§6): a persistent vnet_hdr TAP whose ingress is
// redirected by tc mirred to a veth with every TX offload off, so the kernel's software GSO and
// checksum code produce the exact wire bytes that tcpdump records on the veth peer.
import { execFileSync } from 'node:child_process';

export const NS_PREFIX = 'ptnet-oracle-';
export const TAP = 'ptap0';
export const VETH_TX = 'pveth0';
export const VETH_CAP = 'pveth1';
export const TAP_MAC = '02:00:00:00:00:aa';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Netns names of earlier runs that died before their teardown: same prefix, and the pid they end
 * with is gone (suites running in parallel keep theirs).
 */
export function leftoverNamespaces(prefix = NS_PREFIX): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix))
    .filter((n) => {
      const pid = Number(/(\d+)$/.exec(n)?.[1] ?? NaN);
      return !Number.isInteger(pid) || !alive(pid);
    });
}

/** Deletes the persistent TAP first (it would outlive the netns otherwise), then the netns. */
export function destroyNamespace(ns: string): void {
  const quiet = (args: string[]): void => {
    try {
      run('ip', args);
    } catch {
      // already gone
    }
  };
  quiet(['-n', ns, 'tuntap', 'del', 'dev', TAP, 'mode', 'tap']);
  quiet(['-n', ns, 'link', 'del', VETH_TX]);
  quiet(['netns', 'del', ns]);
}

export function removeLeftovers(prefix = NS_PREFIX): void {
  for (const ns of leftoverNamespaces(prefix)) destroyNamespace(ns);
}

/** Builds the segmenting topology in a fresh netns `ns`. */
export function createSegmenterNamespace(ns: string): void {
  run('ip', ['netns', 'add', ns]);
  try {
    const ip = (...a: string[]): string => run('ip', ['-n', ns, ...a]);
    const nsx = (...a: string[]): string => run('ip', ['netns', 'exec', ns, ...a]);
    nsx('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    ip('link', 'set', 'lo', 'up');
    ip('tuntap', 'add', 'dev', TAP, 'mode', 'tap', 'vnet_hdr');
    ip('link', 'set', TAP, 'address', TAP_MAC);
    ip('link', 'add', VETH_TX, 'type', 'veth', 'peer', 'name', VETH_CAP);
    // Jumbo segments (mss up to 9000) and unsegmented frames must not hit the veth MTU check.
    ip('link', 'set', VETH_TX, 'mtu', '65535');
    ip('link', 'set', VETH_CAP, 'mtu', '65535');
    nsx('ethtool', '-K', VETH_TX, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'sg', 'off');
    nsx('ethtool', '-K', VETH_CAP, 'gro', 'off');
    for (const d of [TAP, VETH_TX, VETH_CAP]) ip('link', 'set', d, 'up');
    run('tc', ['-n', ns, 'qdisc', 'add', 'dev', TAP, 'ingress']);
    run('tc', [
      '-n', ns, 'filter', 'add', 'dev', TAP, 'parent', 'ffff:', 'protocol', 'all', 'prio', '1',
      'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', VETH_TX,
    ]); // prettier-ignore
  } catch (e) {
    destroyNamespace(ns);
    throw e;
  }
}

/** TX `dropped` counter of a device in `ns` (frames the kernel accepted, then dropped in GSO). */
export function txDropped(ns: string, dev: string): number {
  const out = run('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]);
  const parsed = JSON.parse(out) as { stats64?: { tx?: { dropped?: number } } }[];
  return parsed[0]?.stats64?.tx?.dropped ?? 0;
}
