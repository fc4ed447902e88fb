// src/device: the ptnet and memdev device models, guest memory and MSI-X (what the hypervisor emulates).
export * from './errors.ts';
export * from './guest-memory.ts';
export * from './interface.ts';
export * from './machine.ts';
export * from './memdev.ts';
export * from './msix.ts';
export * from './ptnet.ts';
