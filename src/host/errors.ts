// Typed errors of the host folder. Only configuration misuse throws (bad ring counts, a full
// switch, a kloop started twice); the datapath never throws, it counts drops by reason.

export type HostErrorCode =
  /** A ring or slot count outside what the port type accepts (VALE: 1..16 rings, 2..4096 slots). */
  | 'HOST_ARG'
  /** The switch has no free port left (VALE: NM_BDG_MAXPORTS = 254). */
  | 'HOST_SWITCH_FULL'
  /** A port name already attached to this switch, or a pipe end opened twice. */
  | 'HOST_BUSY'
  /** A CSB window that does not fit the buffer, or is not aligned to its 64-byte entries. */
  | 'HOST_CSB'
  /** The kloop was started twice, or used after stop(). */
  | 'HOST_STATE'
  /** A worker kloop could not start: its entry module failed to load or threw before serving. */
  | 'HOST_WORKER';

export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(
    readonly code: HostErrorCode,
    message: string,
    /** The byte offset at fault, where one exists. */
    readonly offset?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Why the datapath dropped a packet or refused a sync, one counter each (see `DropCounters`).
 * Mirrors the places netmap's txsync/VALE flush silently skip a slot, made visible.
 */
export const DROP_REASONS = [
  /** A slot's buf_idx outside [2, nbufs) (netmap's NMB() would alias buffer 0). */
  'BAD_BUF_IDX',
  /** A slot's len larger than the buffer size. */
  'BAD_LEN',
  /** More than NETMAP_MAX_FRAGS slots, or a NS_MOREFRAG chain cut by the ring head. */
  'BAD_FRAGS',
  /** The vnet header is not in the first fragment or fails vnet_hdr_is_bad(). */
  'BAD_VNET_HDR',
  /** The frame is shorter than an Ethernet header. */
  'RUNT',
  /** The packet does not fit the destination (mfs, slots or ring space). */
  'NO_SPACE',
  /** Software segmentation refused a GSO frame toward a header-less port (Linux would drop it). */
  'GSO_BAD',
  /** Checksum completion refused csum_start/csum_offset. */
  'BAD_CSUM_OFFSET',
  /** The impairment stage dropped it on purpose. */
  'IMPAIRED',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
