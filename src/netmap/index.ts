// src/netmap: netmap's shared-memory objects (layouts, region, ring arithmetic, CSB entries).
export * from './constants.ts';
export * from './csb.ts';
export * from './errors.ts';
export * from './layout.ts';
export * from './prologue.ts';
export * from './region.ts';
export * from './ring-index.ts';
export * from './ring-view.ts';
