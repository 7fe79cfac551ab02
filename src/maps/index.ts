// Maps: MapSpec (what a map should be) and BpfMap (a live map).
export * from './types.ts';
export * from './errors.ts';
export * from './codec.ts';
export * from './spec.ts';
export * from './pin.ts';
export { BpfMap, effectiveMaxEntries, listMapIds, type BatchEntries, type BatchOptions, type MapCreateOptions, type MapInfo, type MapOpenOptions } from './map.ts';
