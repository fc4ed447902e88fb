// src/driver: the ptnet guest driver.
export * from './adapter.ts';
export * from './errors.ts';
export * from './extra-bufs.ts';
export * from './kring.ts';
export * from './native.ts';
export * from './sync.ts';
export * from './pkt-gen.ts';
export * from './netif.ts';
export * from './netif-hash.ts';
