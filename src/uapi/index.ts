// src/uapi: the kernel's vocabulary in one place. kernel.ts is generated from
// a pinned kernel's BTF (npm run gen:uapi); defines.ts holds the #defines BTF
// does not carry; arch.ts what differs per architecture. Nothing else in src/
// writes a kernel constant down.
export * from './kernel.ts';
export * from './defines.ts';
export * from './arch.ts';
