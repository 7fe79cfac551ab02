// The compile cache's files: named for the bundle they were compiled from.
// Where they live and when they are trusted: src/util/disk_cache.ts.
//
// The name carries the SHA-256 of the bundle's source that the build computed,
// the bundle file's size, modification time and inode, Node's version and the
// architecture, so a rebuilt or reinstalled bundle, or one edited in place,
// never meets an old cache (V8 itself checks only the source's length). The
// hash comes from the build because hashing the ~600 KB source at run time
// meant loading node:crypto: ~4 ms of a fresh process.
import type { Stats } from 'node:fs';
import { nameDigest } from '../util/disk_cache.ts';

export { cacheDirectory, readCacheFile, trustDirectory, writeCacheFile, type Refusal } from '../util/disk_cache.ts';

/** Caches of other bundles (older tsbpf versions) are removed once not rewritten for this long. */
export const PRUNE_AFTER_DAYS = 30;

/**
 * The cache file name for a bundle: `sha256` is its source's SHA-256 (hex, from
 * the build), `file` the fstat of the bundle file the source was read from.
 */
export function cacheFileName(sha256: string, file: Pick<Stats, 'size' | 'mtimeMs' | 'ino' | 'dev'>): string {
  return `tsbpf-${nameDigest(`${sha256}\0${file.size}\0${file.mtimeMs}\0${file.ino}\0${file.dev}\0${process.version}\0${process.arch}`)}.v8cache`;
}
