// tsbpf's caches on disk (the compile cache, src/compile_cache; the kernel
// BTF's type index, src/btf/kernel.ts): where they live, and when a cache file
// may be trusted.
//
// The directory: $TSBPF_CACHE_DIR, else $XDG_CACHE_HOME/tsbpf, else
// ~/.cache/tsbpf, where ~ is the home directory of our effective uid from the
// password database (not $HOME: under `sudo -E`, $HOME is the invoking
// user's, and root must neither write there nor trust it). As root, $XDG_CACHE_HOME
// is ignored for the same reason. Relative paths are refused (the XDG spec
// says to ignore them; a relative path would put root's cache in whatever the
// current directory is). Each cache has its own off switch (an environment
// variable set to 0: TSBPF_COMPILE_CACHE, TSBPF_BTF_INDEX_CACHE).
//
// Trust. A code cache is executable: V8 runs the bytecode it holds, and it
// checks only that the cache was made by the same V8 for a source of the same
// length; a type index tells CO-RE where the kernel's types are. BPF tools run
// as root, so a cache file some other user could write, or a directory some
// other user could rearrange, would be a way into root.
// Hence (the rule of OpenSSH's secure_path): the directory and every one of
// its ancestors (after resolving symlinks) must be owned by root or by us and
// writable by no one else (sticky directories such as /tmp excepted), else the
// cache is not used at all; a file is opened with O_NOFOLLOW and used only if
// fstat says it is a regular file owned by us and writable by no one else; and
// the file name says what the content was made from (see each cache's
// naming), so a file is never met by inputs other than its own. "Us" is
// the effective uid: a process that gets its BPF capabilities without being
// root (file or ambient capabilities) trusts a cache its own user can write;
// turn the caches off there.
//
// Files are written to a temporary name and renamed (two processes may race;
// either result is a whole file). Files of the same cache made from other
// inputs (older tsbpf versions, earlier boots) are removed when a new one is
// written, once they have not been rewritten for the cache's pruning age.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

const PREFIX = 'tsbpf-';

/** Why a cache directory or file is not used, for the log. */
export type Refusal = string;

/** The cache directory the environment asks for, or a Refusal (`offSwitch` set to 0, relative, no home directory). */
export function cacheDirectory(offSwitch: string, env: NodeJS.ProcessEnv = process.env): string | { refusal: Refusal } {
  if (env[offSwitch] === '0') return { refusal: `turned off (${offSwitch}=0)` };
  let dir: string;
  if (env.TSBPF_CACHE_DIR) {
    dir = env.TSBPF_CACHE_DIR;
  } else if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) && process.geteuid!() !== 0) {
    dir = join(env.XDG_CACHE_HOME, 'tsbpf');
  } else {
    let home: string;
    try {
      home = userInfo().homedir;
    } catch (e) {
      return { refusal: `no home directory for uid ${process.geteuid!()} (${(e as Error).message})` };
    }
    dir = join(home, '.cache', 'tsbpf');
  }
  if (!isAbsolute(dir)) return { refusal: `${JSON.stringify(dir)} is not an absolute path` };
  return dir;
}

/** Writable by group or others. */
const sharedWritable = (mode: number): boolean => (mode & 0o022) !== 0;
const STICKY = 0o1000;

/** Make `path` if missing: the directory itself (0700), and its parent (0700) when that is missing too. */
function makeDirectory(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw e;
    mkdirSync(dirname(path), { mode: 0o700 }); // e.g. ~/.cache on a fresh account
    mkdirSync(path, { mode: 0o700 });
  }
}

/** Create `dir` (0700) if needed; a Refusal unless it and its ancestors are safe (see the header). */
export function trustDirectory(dir: string): Refusal | undefined {
  const euid = process.geteuid!();
  try {
    makeDirectory(dir);
    const st = lstatSync(dir);
    if (!st.isDirectory()) return `${dir} is not a directory`;
    if (st.uid !== euid) return `${dir} belongs to uid ${st.uid}, not to us (${euid})`;
    if (sharedWritable(st.mode)) return `${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)})`;
    for (let p = realpathSync(dirname(dir)); ; p = dirname(p)) {
      const a = statSync(p);
      if (a.uid !== 0 && a.uid !== euid) return `${p}, above ${dir}, belongs to uid ${a.uid}`;
      if (sharedWritable(a.mode) && (a.mode & STICKY) === 0) return `${p}, above ${dir}, is writable by others (mode ${(a.mode & 0o777).toString(8)})`;
      if (p === dirname(p)) break;
    }
    return undefined;
  } catch (e) {
    return `${dir}: ${(e as Error).message}`;
  }
}

/** 32 hex digits from a short string, for cache file names: four 32-bit FNV-1a hashes with different offset bases (a name, not a MAC). */
export function nameDigest(text: string): string {
  let out = '';
  for (const basis of [0x811c9dc5, 0x050c5d1f, 0x2b6f8a1d, 0x61c88647]) {
    let h = basis;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    out += (h >>> 0).toString(16).padStart(8, '0');
  }
  return out;
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

/**
 * Write `data` as `dir`/`name` (mode 0600) through a temporary file and a rename;
 * remove the same cache's other files (same extension) not rewritten for `pruneAfterDays`.
 */
export function writeCacheFile(dir: string, name: string, data: Uint8Array, pruneAfterDays: number): void {
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' }); // fails on a leftover of someone else's: theirs to clean
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  pruneStale(dir, name, pruneAfterDays);
}

/** Remove the files of `keep`'s cache (and their leftover temporary files) other than `keep`, not rewritten for `days`. */
function pruneStale(dir: string, keep: string, days: number): void {
  const cutoff = Date.now() - days * 86_400_000;
  const suffix = keep.slice(keep.lastIndexOf('.'));
  for (const entry of readdirSync(dir)) {
    if (entry === keep || !entry.startsWith(PREFIX) || !(entry.endsWith(suffix) || entry.includes(`${suffix}.`) && entry.endsWith('.tmp'))) continue;
    const path = join(dir, entry);
    try {
      if (statSync(path).mtimeMs < cutoff) unlinkSync(path);
    } catch {
      // raced with another process: fine
    }
  }
}
