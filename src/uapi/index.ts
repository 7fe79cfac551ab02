// src/uapi: the kernel's vocabulary in one place. kernel.ts is generated from
// a pinned kernel's BTF (npm run gen:uapi); arch.ts holds what differs per
// architecture. Nothing else in src/ writes a kernel constant down.
export * from './kernel.ts';
export * from './arch.ts';
