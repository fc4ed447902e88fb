// The oracle namespace of the recipe (docs/SPEC.md §9): a persistent vnet_hdr TAP whose ingress is
// redirected by tc mirred to a veth with every TX offload off, so the kernel's software GSO and
// checksum code produce the exact wire bytes that tcpdump records on the veth peer.
import { execFileSync } from 'node:child_process';
import {
  destroyNamespace,
  disableIpv6,
  freshNamespace,
  leftoverNamespaces,
  mirrorTapToVeth,
} from '../../support/netns.ts';

export const NS_PREFIX = 'ptnet-oracle-';
export const TAP = 'ptap0';
const VETH_TX = 'pveth0';
export const VETH_CAP = 'pveth1';
const TAP_MAC = '02:00:00:00:00:aa';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Builds the segmenting topology in a fresh netns `ns`. */
export function createSegmenterNamespace(ns: string): void {
  freshNamespace(ns, [TAP]);
  try {
    disableIpv6(ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', TAP, 'address', TAP_MAC);
    // Jumbo segments (mss up to 9000) and unsegmented frames must not hit the veth MTU check.
    mirrorTapToVeth(ns, TAP, VETH_TX, VETH_CAP, 65535);
    ip('netns', 'exec', ns, 'ethtool', '-K', VETH_CAP, 'gro', 'off');
  } catch (e) {
    destroySegmenterNamespace(ns);
    throw e;
  }
}

/** The persistent TAP first (it would outlive the netns otherwise), then the netns. */
export function destroySegmenterNamespace(ns: string): void {
  destroyNamespace(ns, [TAP]);
}

/** Segmenter namespaces of earlier runs that died before their teardown. */
export function removeLeftovers(): void {
  for (const ns of leftoverNamespaces(NS_PREFIX)) destroySegmenterNamespace(ns);
}
