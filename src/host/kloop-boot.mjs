// Entry of a kloop worker thread. The sources are TypeScript run by tsx with no build step, and
// Node 20 does not apply a worker's `--import tsx` to its entry module: register tsx here, then
// load the real worker.
import { tsImport } from 'tsx/esm/api';

await tsImport('./kloop-worker.ts', import.meta.url);
