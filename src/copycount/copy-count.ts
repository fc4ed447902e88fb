// Copy accounting (issue 11): the bytes each place that copies packet data has copied, so that a
// benchmark can print how many times each payload byte was copied between two sockets. One Float64
// add per copy call (not per byte) next to a copy of tens to thousands of bytes: cheap enough to
// leave on everywhere, so the figures describe the code that ships. The counters are per thread
// (a kloop worker's copies stay in the worker): benchmarks read them with the loops inline.

/** The copy sites, in the order a payload byte meets them from the sending socket to the receiving one. */
export const COPY_SITE = {
  /** The user's Buffer into the TCP send ring (SendBuffer.write). */
  sndbufIn: 0,
  /** Send ring bytes into a segment's mbuf (Tcp.sendSegment's Mbuf.write from the ring). */
  sndbufOut: 1,
  /** The guest driver's mbuf → TX slot buffer copy (PtnetNetIf.transmit). */
  driverTx: 2,
  /** A host port's copy from a TX slot to an RX slot (VALE; a pipe swaps buffers instead). */
  host: 3,
  /** The guest driver's RX slot buffer → mbuf copy (PtnetNetIf.rxOne). */
  driverRx: 4,
  /** The stack linearising a chained frame it cannot take from the chain (the link layer's input). */
  linearise: 5,
  /**
   * Segment payload into the TCP receive buffer (RecvBuffer.write), from the frame or its chain;
   * the socket then emits views of that buffer, not copies.
   */
  rcvbufIn: 6,
  /** The receive buffer into the application's own buffer (a socket's onread: RecvBuffer.readInto). */
  rcvbufOut: 7,
} as const;

export type CopySite = (typeof COPY_SITE)[keyof typeof COPY_SITE];

/** The site names, indexed by site. */
export const COPY_SITE_NAMES: readonly string[] = Object.keys(COPY_SITE);

/** Bytes copied at each site since the last reset, indexed by CopySite. */
export const copyBytes = new Float64Array(COPY_SITE_NAMES.length);

/** Counts n bytes copied at `site`. */
export function countCopy(site: CopySite, n: number): void {
  copyBytes[site] = copyBytes[site]! + n;
}

/** Zeroes every counter (a benchmark's measurement starts). */
export function resetCopyCounts(): void {
  copyBytes.fill(0);
}
