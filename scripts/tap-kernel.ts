// Prints which TAP write behaviour the running kernel has (src/vnethdr/kernel-behaviour.ts), as the
// kernel-oracle suites will find it. .ci/run calls it so every CI log states the behaviour; exit 1
// when the kernel fits no modelled behaviour. Needs root, /dev/net/tun and ip:
//   npx tsx scripts/tap-kernel.ts
import { privilegedUnavailable } from '../test/support/privileged.ts';
import { probeTapKernel, tapKernelReport } from '../test/support/tap-kernel.ts';

const missing = privilegedUnavailable(['ip']);
if (missing !== null) {
  console.log(`TAP kernel behaviour: not probed (${missing})`);
  process.exit(process.env.CI === 'true' ? 1 : 0);
}
try {
  console.log(tapKernelReport(probeTapKernel()));
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
