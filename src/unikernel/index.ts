// src/unikernel: boots device + driver + stack on a host port.
export * from './errors.ts';
export * from './unikernel.ts';
export { NetIfShell } from './shell.ts';
export * from './worker.ts';
export type * from './worker-protocol.ts';
