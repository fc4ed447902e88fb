// Every benchmark suite, in the order the table prints them. Add one line per suite.
import type { BenchSuite } from './harness.ts';

export const suites: BenchSuite[] = [];
