// Every benchmark suite, in the order the table prints them. Add one line per suite.
import type { BenchSuite } from './harness.ts';
import { linuxReferenceSuite } from './linux-reference.bench.ts';

export const suites: BenchSuite[] = [linuxReferenceSuite];
suites.push((await import('./mbuf.bench.ts')).mbufSuite);
suites.push((await import('./checksum.bench.ts')).checksumSuite);
suites.push((await import('./wire.bench.ts')).wireSuite);
suites.push((await import('./tso.bench.ts')).tsoSuite);
suites.push((await import('./host.bench.ts')).hostSuite);
suites.push((await import('./stack.bench.ts')).stackSuite);
suites.push((await import('./driver.bench.ts')).driverSuite);
suites.push((await import('./pktgen.bench.ts')).pktGenSuite);
suites.push((await import('./tap.bench.ts')).tapSuite);
suites.push((await import('./e2e.bench.ts')).e2eSuite);
suites.push((await import('./alloc.bench.ts')).allocSuite);
suites.push((await import('./copies.bench.ts')).copiesSuite);
suites.push((await import('./synflood.bench.ts')).synfloodSuite);
suites.push((await import('./switch.bench.ts')).switchSuite);
suites.push((await import('./migrate.bench.ts')).migrateSuite);
