// Probes which TAP write behaviour (src/vnethdr TapKernelBehaviour) the running kernel has, with
// fixed frames, once per process: a throwaway namespace holds one vnet_hdr TAP, a child process in
// it writes the frames, and the write() results decide. GSO frames without NEEDS_CSUM whose
// EtherType or L4 protocol contradicts gso_type are accepted by upstream kernels (and dropped
// later, at segmentation) and refused with EINVAL by probing ones; a well-formed one is accepted
// by both, so an unexpected refusal there is reported instead of guessed around.
import { execFileSync } from 'node:child_process';
import {
  PROBING_TAP_KERNEL,
  UPSTREAM_TAP_KERNEL,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  describeTapKernel,
  type TapKernelBehaviour,
} from '../../src/vnethdr/index.ts';
import { buildFrame, tapWrite, type FrameSpec, type HdrSpec } from '../vnethdr/frames.ts';
import { destroyNamespace, freshNamespace, nsTsx } from './netns.ts';

interface ProbeFrame {
  name: string;
  h: HdrSpec;
  frame: FrameSpec;
  /** Whether a probing kernel refuses it (upstream accepts every probe frame). */
  probingRefuses: boolean;
}

const tcp4: HdrSpec = { gsoType: VIRTIO_NET_HDR_GSO_TCPV4, gsoSize: 100 };

/** The fixed frames, each a 12-byte virtio_net_hdr + frame with GSO and no NEEDS_CSUM. */
export const PROBE_FRAMES: readonly ProbeFrame[] = [
  { name: 'TCPv4 GSO, IPv4/TCP frame', h: tcp4, frame: { payload: 3000 }, probingRefuses: false },
  {
    name: 'TCPv4 GSO, ARP frame',
    h: tcp4,
    frame: { etherType: 0x0806, payload: 3000 },
    probingRefuses: true,
  },
  {
    name: 'TCPv4 GSO, IPv4/UDP frame',
    h: tcp4,
    frame: { proto: 'udp', payload: 3000 },
    probingRefuses: true,
  },
  { name: 'TCPv4 GSO, IPv6/TCP frame', h: tcp4, frame: { v6: true, payload: 3000 }, probingRefuses: true },
  {
    name: 'TCPv6 GSO, 802.1Q IPv4/TCP frame',
    h: { gsoType: VIRTIO_NET_HDR_GSO_TCPV6, gsoSize: 100 },
    frame: { vlans: [5], payload: 3000 },
    probingRefuses: true,
  },
];

export interface TapKernelProbe {
  behaviour: TapKernelBehaviour;
  /** One line per probe frame: its name and what write() did. */
  evidence: string[];
}

/** What a child in the namespace reports per write: 'ok' or the errno name. */
type WriteResult = 'ok' | string;

let cached: TapKernelProbe | undefined;

/** Probes the running kernel (root, /dev/net/tun, ip); the result is cached for the process. */
export function probeTapKernel(): TapKernelProbe {
  if (cached !== undefined) return cached;
  const ns = `ptnet-tkp-${process.pid}`;
  const tap = 'tkp0';
  let got: WriteResult[];
  freshNamespace(ns, [tap]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', tap, 'up'], { stdio: 'ignore' });
    const writes = PROBE_FRAMES.map((p) =>
      Buffer.from(tapWrite(p.h, buildFrame(p.frame).bytes)).toString('hex'),
    );
    got = JSON.parse(
      nsTsx(ns, 'test/support/tap-kernel-writes.ts', tap, JSON.stringify(writes)),
    ) as WriteResult[];
  } finally {
    destroyNamespace(ns, [tap]);
  }
  const evidence = PROBE_FRAMES.map((p, i) => `${p.name}: ${got[i] === 'ok' ? 'accepted' : got[i]}`);
  const refused = PROBE_FRAMES.map((_, i) => got[i] !== 'ok');
  const fits = (probing: boolean): boolean =>
    PROBE_FRAMES.every((p, i) => refused[i] === (probing && p.probingRefuses));
  let behaviour: TapKernelBehaviour;
  if (fits(true)) behaviour = PROBING_TAP_KERNEL;
  else if (fits(false)) behaviour = UPSTREAM_TAP_KERNEL;
  else
    throw new Error(`the kernel's TAP write verdicts fit no modelled behaviour:\n  ${evidence.join('\n  ')}`);
  cached = { behaviour, evidence };
  return cached;
}

/** The probe's result as the lines a suite or CI prints. */
export function tapKernelReport(p: TapKernelProbe): string {
  const uname = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  return [
    `TAP kernel behaviour (Linux ${uname}): ${describeTapKernel(p.behaviour)}`,
    ...p.evidence.map((e) => `  ${e}`),
  ].join('\n');
}
