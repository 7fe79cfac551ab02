// Where `btf dump --format ts` and `gen skeleton` meet the TypeScript code
// generators of the library (src/codegen/ts_types.ts, src/skel/generate.ts).
import { resolve } from 'node:path';
import { BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_UNION, skipModsAndTypedefs, type Btf } from '../btf/index.ts';
import { emitTsTypes } from '../codegen/ts_types.ts';
import { generateSkeleton, type GenerateSkeletonOptions } from '../skel/generate.ts';

/**
 * Every named struct, union, enum and typedef, but the typedefs of what has
 * no bytes to describe: function types (`typedef void __signalfn_t(int)`),
 * opaque structs (`typedef struct POOL_ctx_s ZSTD_threadPool`) and void.
 */
export function tsRoots(btf: Btf): number[] {
  const ids: number[] = [];
  for (let id = btf.startId; id <= btf.typeCount; id++) {
    const k = btf.kindOf(id);
    if (k !== BTF_KIND_STRUCT && k !== BTF_KIND_UNION && k !== BTF_KIND_ENUM && k !== BTF_KIND_ENUM64 && k !== BTF_KIND_TYPEDEF) continue;
    if (btf.nameOffOf(id) === 0) continue;
    if (k === BTF_KIND_TYPEDEF) {
      const target = skipModsAndTypedefs(btf, id);
      if (target === 0 || btf.kindOf(target) === BTF_KIND_FUNC_PROTO || btf.kindOf(target) === BTF_KIND_FWD) continue;
    }
    ids.push(id);
  }
  return ids;
}

/** TypeScript declarations for `roots` (or every type that has a TypeScript form) of `btf`. */
export function tsTypes(btf: Btf, roots: number[] | 'all', importFrom?: string): string {
  return emitTsTypes(btf, roots === 'all' ? tsRoots(btf) : roots, importFrom ? { importFrom } : {});
}

/** A skeleton module for an object file's bytes. */
export function skeleton(object: Uint8Array, opts: GenerateSkeletonOptions): string {
  // without embedding, the skeleton reads the object at run time: an absolute path works wherever the module is written
  const objectPath = opts.embed === false && opts.objectPath ? resolve(opts.objectPath) : opts.objectPath;
  return generateSkeleton(object, { ...opts, objectPath });
}
