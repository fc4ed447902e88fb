// Guest-physical memory: one SharedArrayBuffer standing for the guest's RAM at guest-physical
// address `base`, with a first-fit page allocator for what a guest kernel would get from
// contigmalloc / alloc_pages (the CSB pages). The default base lies above 4 GiB so that the high
// halves of address register pairs (BAH) are exercised.

import type { GuestMapping, GuestMemory } from './interface.ts';
import { GUEST_PAGE_SIZE } from './interface.ts';
import { DeviceError } from './errors.ts';

export interface GuestMemoryOptions {
  /** RAM size in bytes (a multiple of the page size). */
  size: number;
  /** Guest-physical address of the first byte (page aligned, > 0). */
  base?: number;
}

export const DEFAULT_GUEST_BASE = 0x1_0000_0000;

export class GuestPhysMemory implements GuestMemory {
  readonly buffer: SharedArrayBuffer;
  readonly base: number;
  readonly size: number;
  private readonly used: Uint8Array;
  private readonly bytes: Uint8Array;

  constructor(opts: GuestMemoryOptions) {
    const base = opts.base ?? DEFAULT_GUEST_BASE;
    if (!Number.isSafeInteger(opts.size) || opts.size <= 0 || opts.size % GUEST_PAGE_SIZE !== 0) {
      throw new DeviceError(
        'DEV_MEM_ARG',
        `guest memory size ${opts.size} is not a positive number of pages`,
      );
    }
    if (
      !Number.isSafeInteger(base) ||
      base <= 0 ||
      base % GUEST_PAGE_SIZE !== 0 ||
      !Number.isSafeInteger(base + opts.size)
    ) {
      throw new DeviceError('DEV_MEM_ARG', `guest memory base ${base} is not a page-aligned address`, base);
    }
    this.base = base;
    this.size = opts.size;
    this.buffer = new SharedArrayBuffer(opts.size);
    this.bytes = new Uint8Array(this.buffer);
    this.used = new Uint8Array(opts.size / GUEST_PAGE_SIZE);
  }

  allocPages(pages: number): number {
    if (!Number.isInteger(pages) || pages < 1)
      throw new DeviceError('DEV_MEM_ARG', `cannot allocate ${pages} pages`);
    let run = 0;
    for (let p = 0; p < this.used.length; p++) {
      run = this.used[p] === 0 ? run + 1 : 0;
      if (run === pages) {
        const first = p - pages + 1;
        this.used.fill(1, first, p + 1);
        this.bytes.fill(0, first * GUEST_PAGE_SIZE, (p + 1) * GUEST_PAGE_SIZE);
        return this.base + first * GUEST_PAGE_SIZE;
      }
    }
    throw new DeviceError('DEV_MEM_NOMEM', `no ${pages} contiguous free pages`);
  }

  freePages(gpa: number, pages: number): void {
    const rel = gpa - this.base;
    const first = rel / GUEST_PAGE_SIZE;
    if (
      !Number.isInteger(first) ||
      !Number.isInteger(pages) ||
      pages < 1 ||
      first < 0 ||
      first + pages > this.used.length
    ) {
      throw new DeviceError('DEV_MEM_FREE', `cannot free ${pages} pages at ${gpa}`, gpa);
    }
    for (let p = first; p < first + pages; p++) {
      if (this.used[p] === 0) throw new DeviceError('DEV_MEM_FREE', `page at ${gpa} is not allocated`, gpa);
    }
    this.used.fill(0, first, first + pages);
  }

  map(gpa: number, length: number): GuestMapping | undefined {
    const rel = gpa - this.base;
    if (
      !Number.isSafeInteger(gpa) ||
      !Number.isSafeInteger(length) ||
      length < 0 ||
      rel < 0 ||
      rel + length > this.size
    ) {
      return undefined;
    }
    return { buffer: this.buffer, byteOffset: rel };
  }
}
