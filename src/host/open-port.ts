// Rebuilds a port's datapath from its structured-cloneable descriptor, in any thread (the kloop
// worker calls this; the guest's thread uses port.datapath directly).

import { PipeDatapath } from './pipe.ts';
import type { PortDatapath, PortShared } from './port.ts';
import { openTapDatapath } from './tap-port.ts';
import { openValeDatapath } from './vale.ts';

export function openDatapath(s: PortShared): PortDatapath {
  if (s.kind === 'tap') return openTapDatapath(s);
  return s.kind === 'pipe' ? PipeDatapath.open(s) : openValeDatapath(s);
}
