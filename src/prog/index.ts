export * from './types.ts';
export * from './insn.ts';
export * from './spec.ts';
export * from './errors.ts';
export * from './program.ts';
