// Where the compile cache lives, and when a cache file may be trusted.
//
// The directory: $TSBPF_CACHE_DIR, else $XDG_CACHE_HOME/tsbpf, else
// ~/.cache/tsbpf (created 0700). TSBPF_COMPILE_CACHE=0 turns the cache off.
//
// Trust. A code cache is executable: V8 runs the bytecode it holds, and it
// checks only that the cache was made by the same V8 for a source of the same
// length. BPF tools run as root, so a cache file some other user could write
// would be a way into root. Hence: the directory must be a real directory
// owned by us and writable by no one else (else the cache is not used at
// all), a file is opened with O_NOFOLLOW and used only if fstat says it is a
// regular file owned by us and writable by no one else, and the file name
// carries a SHA-256 of the bundle's source (plus Node's version and the
// architecture), so a changed bundle never meets an old cache.
//
// Files are written to a temporary name and renamed (two processes may race;
// either result is a whole file). Caches of other bundles (older tsbpf
// versions) untouched for PRUNE_AFTER_DAYS are removed when a new one is written.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'tsbpf-';
const SUFFIX = '.v8cache';
const PRUNE_AFTER_DAYS = 30;

/** Why a cache directory or file is not used, for the log. */
export type Refusal = string;

/** The cache directory asked for by the environment, or undefined when the cache is turned off. */
export function cacheDirectory(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TSBPF_COMPILE_CACHE === '0') return undefined;
  if (env.TSBPF_CACHE_DIR) return env.TSBPF_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tsbpf');
}

/** Writable by group or others. */
const sharedWritable = (mode: number): boolean => (mode & 0o022) !== 0;

/** Create `dir` (0700) if needed; a Refusal when it is not ours alone. */
export function trustDirectory(dir: string): Refusal | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return `${dir} is not a directory`;
    if (st.uid !== process.geteuid!()) return `${dir} belongs to uid ${st.uid}, not to us (${process.geteuid!()})`;
    if (sharedWritable(st.mode)) return `${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)})`;
    return undefined;
  } catch (e) {
    return `${dir}: ${(e as Error).message}`;
  }
}

/** The cache file name for a bundle's source. */
export function cacheFileName(source: string): string {
  const hash = createHash('sha256').update(source).update(`\0${process.version}\0${process.arch}`).digest('hex');
  return `${PREFIX}${hash.slice(0, 32)}${SUFFIX}`;
}

/** The file's bytes, or a Refusal (missing, not ours, writable by others, unreadable). */
export function readCacheFile(path: string): Buffer | Refusal {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cache yet' : `${path}: ${(e as Error).message}`;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return `${path} is not a regular file`;
    if (st.uid !== process.geteuid!()) return `${path} belongs to uid ${st.uid}, not to us`;
    if (sharedWritable(st.mode)) return `${path} is writable by others`;
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) return `${path} shrank while read`;
      got += n;
    }
    return buf;
  } catch (e) {
    return `${path}: ${(e as Error).message}`;
  } finally {
    closeSync(fd);
  }
}

/** Write `data` as `path` (mode 0600) through a temporary file and a rename; prune stale caches. */
export function writeCacheFile(dir: string, name: string, data: Buffer): void {
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw e;
  }
  pruneStale(dir, name);
}

/** Remove other bundles' caches (and leftover temporary files) untouched for PRUNE_AFTER_DAYS. */
function pruneStale(dir: string, keep: string): void {
  const cutoff = Date.now() - PRUNE_AFTER_DAYS * 86_400_000;
  for (const entry of readdirSync(dir)) {
    if (entry === keep || !entry.startsWith(PREFIX) || !(entry.endsWith(SUFFIX) || entry.endsWith('.tmp'))) continue;
    const path = join(dir, entry);
    try {
      if (statSync(path).mtimeMs < cutoff) unlinkSync(path);
    } catch {
      // raced with another process: fine
    }
  }
}
