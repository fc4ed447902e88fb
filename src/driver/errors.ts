// Typed errors of the driver. Attach failures name the bring-up step that failed (docs/SPEC.md §2.5); the
// device is left detached. Datapath calls never throw: they return a status and count.

/** The bring-up steps of docs/SPEC.md §2.5, in order. */
export type AttachStep =
  | 'probe'
  | 'features'
  | 'rings'
  | 'csb'
  | 'msix'
  | 'memory'
  | 'vnet-hdr'
  | 'kick-flags'
  | 'create'
  | 'sync-from-csb';

export type DriverErrorCode =
  /** No ptnet function (or not the requested unit). */
  | 'NO_PTNET'
  /** No memdev whose MEMID equals the ptnet HOSTMEMID. */
  | 'NO_MEMDEV'
  /** A function lacks the BAR or capability the step needs. */
  | 'NO_BAR'
  /** Ring counts the CSB page or the kick registers cannot hold, or zero rings. */
  | 'RING_COUNT'
  /** Guest memory refused the CSB pages or they do not map. */
  | 'CSB_ALLOC'
  /** Fewer MSI-X vectors than rings. */
  | 'MSIX_VECTORS'
  /** The memdev region or the port inside it is inconsistent with the registers. */
  | 'BAD_MEMORY'
  /** VNET_HDR_LEN read back a length that is not 0, 10 or 12. */
  | 'VNET_HDR_LEN'
  /** PTCTL CREATE reported a nonzero status (the errno is in `status`). */
  | 'PTCTL'
  /** The host published CSB indices outside the ring. */
  | 'BAD_CSB'
  /** A ring index that the port does not have. */
  | 'BAD_RING'
  /** The adapter was used after detach. */
  | 'DETACHED'
  /** The netmap-native port and the interface mode are exclusive; the other one holds the rings. */
  | 'MODE_BUSY';

export class DriverError extends Error {
  override readonly name = 'DriverError';
  constructor(
    readonly code: DriverErrorCode,
    message: string,
    /** The attach step that failed, where the error comes from attach. */
    readonly step?: AttachStep,
    /** PTCTL status (positive errno) or the offending value, where one exists. */
    readonly status?: number,
  ) {
    super(step === undefined ? message : `${step}: ${message}`);
  }
}
