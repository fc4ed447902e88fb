// The port's extra buffers (ni_bufs_head, which the host fills when the port is opened with
// NETMAP_REQ_OPT_EXTRA_BUFS) as the interface's packet pool: a Mempool laid over the whole netmap
// buffer pool, segment s = buffer s, in which every buffer starts lent (to the rings, to other
// ports) and the extra ones start free. Received slot buffers are then handed up inside mbufs and
// transmitted mbufs go into TX slots by swapping buffer indices (NS_BUF_CHANGED), without copies.
// Like a netmap application, the driver gives the extra buffers it still holds back through
// ni_bufs_head before it lets the port go.

import { Mempool } from '../mbuf/index.ts';
import type { PtnetAdapter } from './adapter.ts';

/** Below this many extra buffers the interface copies instead (a pool that small would starve RX). */
export const PTNET_MIN_EXTRA_BUFS = 64;

/**
 * Takes the extra-buffer chain of the port: a pool over the adapter's buffer pool holding them,
 * or null when the port has fewer than PTNET_MIN_EXTRA_BUFS (the chain is then left alone). The
 * chain is written by the host and walked with every link checked: a reserved or out-of-pool
 * index, or one seen before (a cycle), ends it. ni_bufs_head is cleared: the buffers are the
 * driver's until returnExtraBufs relinks them.
 */
export function takeExtraBufs(adapter: PtnetAdapter, headroom: number): Mempool | null {
  const { bufCount, bufSize } = adapter;
  const buffer = adapter.memBar.buffer;
  const dv = new DataView(buffer, adapter.bufBase, bufCount * bufSize);
  const seen = new Uint8Array(bufCount);
  const chain: number[] = [];
  for (let b = adapter.nifp.bufsHead; b >= 2 && b < bufCount && seen[b] === 0;) {
    seen[b] = 1;
    chain.push(b);
    b = dv.getUint32(b * bufSize, true);
  }
  if (chain.length < PTNET_MIN_EXTRA_BUFS) return null;
  const pool = new Mempool({
    buffer,
    byteOffset: adapter.bufBase,
    segments: bufCount,
    segmentSize: bufSize,
    headroom,
    mbufs: chain.length,
    lent: true,
  });
  for (const b of chain) pool.reclaimSeg(b);
  adapter.nifp.bufsHead = 0;
  return pool;
}

/**
 * Relinks the pool's free buffers into ni_bufs_head (the host frees that chain with the port).
 * Buffers still in live mbufs stay with their holders. Returns how many were linked.
 */
export function returnExtraBufs(adapter: PtnetAdapter, pool: Mempool): number {
  const bufSize = adapter.bufSize;
  const dv = new DataView(adapter.memBar.buffer, adapter.bufBase, adapter.bufCount * bufSize);
  let head = adapter.nifp.bufsHead;
  let n = 0;
  for (let s = pool.lendSeg(); s >= 0; s = pool.lendSeg()) {
    dv.setUint32(s * bufSize, head, true);
    head = s;
    n++;
  }
  adapter.nifp.bufsHead = head;
  return n;
}
