// Unikernels a test file boots, closed after each test (or earlier, by closeAll) so that no sync
// loop or worker thread outlives the test that made it.
import { afterEach } from 'vitest';
import { Unikernel, type BootOptions } from '../../src/unikernel/index.ts';

export interface Booted {
  /** Unikernel.boot, remembering the unikernel for closeAll. */
  boot(o: BootOptions): Promise<Unikernel>;
  /** Closes every unikernel booted since the last call. */
  closeAll(): Promise<void>;
}

/** A tracker for this test file: registers an afterEach that closes what the test left open. */
export function trackBoots(): Booted {
  const booted: Unikernel[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(booted.splice(0).map((u) => u.close()));
  };
  afterEach(closeAll);
  return {
    async boot(o) {
      const u = await Unikernel.boot(o);
      booted.push(u);
      return u;
    },
    closeAll,
  };
}
