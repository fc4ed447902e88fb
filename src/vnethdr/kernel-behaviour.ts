// Kernel behaviours of the TAP write path that differ between Linux builds reporting the same
// version string, so a model fitted to one machine is not a model of Linux. Oracle tests probe the
// running kernel, print which behaviour it has, and then demand exact agreement with it.

/**
 * How a kernel treats a GSO frame written to a TAP without NEEDS_CSUM.
 *
 * __virtio_net_hdr_to_skb() runs its "probe" only `if (gso_type && skb->network_header)`. Upstream
 * 6.18 tun_get_user() calls it on a fresh skb whose network header offset is still 0 (it is reset
 * only after eth_type_trans()), so the probe is skipped: the frame is checked for the IP + L4
 * minimum length from the frame start, and a frame whose EtherType or L4 protocol does not match
 * gso_type is accepted and dropped later, at segmentation (SKB_GSO_DODGY re-check).
 *
 * Other builds (seen on 6.18.44 machines whose uname is identical to one without the probe) set
 * the network header and protocol before the header is applied, as drivers/net/tap.c's
 * tap_get_user() does. Then write() fails with EINVAL when the EtherType after any VLAN tags does
 * not match gso_type, when the flow dissector finds no transport header, or when its L4 protocol
 * is not gso_type's; and the "too small to be GSO" test measures from the dissected transport
 * header, so a short UFO frame goes out as one datagram instead of being dropped.
 */
export interface TapKernelBehaviour {
  /** The no-NEEDS_CSUM GSO branch probes the protocol with the flow dissector. */
  readonly probeNoCsumGso: boolean;
}

/** What the upstream 6.18 source gives; the default wherever no kernel can be asked. */
export const UPSTREAM_TAP_KERNEL: TapKernelBehaviour = Object.freeze({ probeNoCsumGso: false });

/** Kernels that set the network header before virtio_net_hdr_to_skb() (tap.c order). */
export const PROBING_TAP_KERNEL: TapKernelBehaviour = Object.freeze({ probeNoCsumGso: true });

/** One line naming the behaviour, for test and CI logs. */
export function describeTapKernel(k: TapKernelBehaviour): string {
  return k.probeNoCsumGso
    ? 'probeNoCsumGso=true (GSO without NEEDS_CSUM is dissected at write(): mismatches get EINVAL)'
    : 'probeNoCsumGso=false (upstream: GSO without NEEDS_CSUM is length-checked only; mismatches are dropped at segmentation)';
}
