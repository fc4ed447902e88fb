// Typed errors of the device folder: misuse of the models by the code that builds a machine.
// Guest register accesses never throw; they follow the register semantics (ignored, read 0,
// or a PTCTL status).

export type DeviceErrorCode =
  /** A guest memory size, page count or address that is not valid. */
  | 'DEV_MEM_ARG'
  /** Guest memory has no free run of the requested pages. */
  | 'DEV_MEM_NOMEM'
  /** Pages freed that are not allocated. */
  | 'DEV_MEM_FREE'
  /** An MSI-X vector outside the table. */
  | 'DEV_MSIX_VECTOR'
  /** A backend port the device cannot pass through (ring counts, memory). */
  | 'DEV_BACKEND';

export class DeviceError extends Error {
  override readonly name = 'DeviceError';
  constructor(
    readonly code: DeviceErrorCode,
    message: string,
    /** The guest-physical address or register offset at fault, where one exists. */
    readonly offset?: number,
  ) {
    super(message);
  }
}
