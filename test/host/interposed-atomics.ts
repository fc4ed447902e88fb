// Atomics with a hook before every access, for the lost-wake-up tests of the kloop's idle and
// guest-poll logic: `before(n)` runs before the n-th access, so a test can inject a kick between
// any two memory operations of the code under test. Subclasses say what wait() does.
import type { AtomicsLike } from '../../src/host/kloop-idle.ts';

export abstract class InterposedAtomics implements AtomicsLike {
  ops = 0;
  before: (op: number) => void = () => {};

  protected step(): void {
    this.before(this.ops++);
  }
  load(ta: Int32Array, i: number): number {
    this.step();
    return Atomics.load(ta, i);
  }
  store(ta: Int32Array, i: number, v: number): number {
    this.step();
    return Atomics.store(ta, i, v);
  }
  exchange(ta: Int32Array, i: number, v: number): number {
    this.step();
    return Atomics.exchange(ta, i, v);
  }
  compareExchange(ta: Int32Array, i: number, e: number, v: number): number {
    this.step();
    return Atomics.compareExchange(ta, i, e, v);
  }
  sub(ta: Int32Array, i: number, v: number): number {
    this.step();
    return Atomics.sub(ta, i, v);
  }
  abstract wait(ta: Int32Array, i: number, v: number): 'ok' | 'not-equal' | 'timed-out';
}
