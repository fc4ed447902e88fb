// Typed errors of the netmap folder: configuration and allocation failures of the memory region,
// and out-of-range arguments to the views. Datapath helpers never throw.

export type NetmapErrorCode =
  /** A pool parameter outside netmap's limits (netmap_config_obj_allocator's EINVAL). */
  | 'NM_POOL_PARAM'
  /** No cluster of at most 4 MiB holds a whole number of pages of this object size. */
  | 'NM_POOL_CLUSTER'
  /** A pool has no free object left (netmap_obj_malloc returning NULL, ENOMEM). */
  | 'NM_NOMEM'
  /** An object larger than its pool's object size (a ring with too many slots, an if with too many rings). */
  | 'NM_OBJ_SIZE'
  /** A buffer index outside [2, objtotal) or not currently allocated (netmap_free_buf). */
  | 'NM_BAD_BUF'
  /** A byte range outside the region, or a misaligned view base. */
  | 'NM_RANGE'
  /** Bad argument (port name too long, ring counts, backing buffer). */
  | 'NM_ARG';

export class NetmapError extends Error {
  override readonly name = 'NetmapError';
  constructor(
    readonly code: NetmapErrorCode,
    message: string,
    /** The byte offset at fault, where one exists. */
    readonly offset?: number,
  ) {
    super(message);
  }
}
