// Regions the host creates live in a shared WebAssembly.Memory (src/checksum's packet memory), so
// every checksum over packet bytes (VALE's completion and segmentation toward header-less ports,
// and the guest's own) runs in place in the SIMD kernel instead of the ~5× slower JS loop; copying
// packets into Wasm memory would cost as much as the sum itself.
import { createPacketMemory, registerPacketMemory, type WasmMemory } from '../checksum/index.ts';
import { NetmapRegion, regionGeometry, type NetmapMemParams } from '../netmap/index.ts';

/** The Memory behind each packet-memory region made in this thread, by its buffer. */
const memories = new WeakMap<SharedArrayBuffer, WasmMemory>();

/**
 * A netmap region with `params`, placed at offset 0 of a fresh packet memory of its size and
 * `extraBytes` more after it: room of the creator's own in the same memory (VALE's segmentation
 * scratch), which the region's allocator never hands out.
 */
export function packetRegion(params: NetmapMemParams, memId?: number, extraBytes = 0): NetmapRegion {
  const { memory, buffer } = createPacketMemory(regionGeometry(params).size + extraBytes);
  memories.set(buffer, memory);
  return new NetmapRegion({ params, memId, backing: { buffer, byteOffset: 0 } });
}

/** The Memory to send to another thread with the region, if the region is a packet memory. */
export function packetMemoryOf(buffer: SharedArrayBuffer): WasmMemory | undefined {
  return memories.get(buffer);
}

/** In a thread that received a region: makes the checksum kernel reach it in place. */
export function adoptPacketMemory(memory: WasmMemory | undefined): void {
  if (memory !== undefined) registerPacketMemory(memory);
}
