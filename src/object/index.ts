export { BpfObject, ObjectProgram, ObjectMap, type OpenOptions, type Destroyable } from './object.ts';
export { parseObject, objectNameOf, internalMapName } from './parse.ts';
export { GlobalData, type GlobalValue } from './globals.ts';
export { ObjectError } from './errors.ts';
export type * from './spec.ts';
