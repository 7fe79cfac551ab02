// Where the compile cache lives, and when a cache file may be trusted.
//
// The directory: $TSBPF_CACHE_DIR, else $XDG_CACHE_HOME/tsbpf, else
// ~/.cache/tsbpf, where ~ is the home directory of our effective uid from the
// password database (not $HOME: under `sudo -E`, $HOME is the invoking
// user's, and root must neither write there nor trust it). As root, $XDG_CACHE_HOME
// is ignored for the same reason. Relative paths are refused (the XDG spec
// says to ignore them; a relative path would put root's cache in whatever the
// current directory is). TSBPF_COMPILE_CACHE=0 turns the cache off.
//
// Trust. A code cache is executable: V8 runs the bytecode it holds, and it
// checks only that the cache was made by the same V8 for a source of the same
// length. BPF tools run as root, so a cache file some other user could write,
// or a directory some other user could rearrange, would be a way into root.
// Hence (the rule of OpenSSH's secure_path): the directory and every one of
// its ancestors (after resolving symlinks) must be owned by root or by us and
// writable by no one else (sticky directories such as /tmp excepted), else the
// cache is not used at all; a file is opened with O_NOFOLLOW and used only if
// fstat says it is a regular file owned by us and writable by no one else; and
// the file name carries the SHA-256 of the bundle's source that the build
// computed, the bundle file's size, modification time and inode, Node's
// version and the architecture, so a rebuilt or reinstalled bundle, or one
// edited in place, never meets an old cache (V8 itself checks only the
// source's length). The hash comes from the build because hashing the ~600 KB
// source at run time meant loading node:crypto: ~4 ms of a fresh process. "Us" is
// the effective uid: a process that gets its BPF capabilities without being
// root (file or ambient capabilities) trusts a cache its own user can write;
// turn the cache off there (TSBPF_COMPILE_CACHE=0).
//
// Files are written to a temporary name and renamed (two processes may race;
// either result is a whole file). Caches of other bundles (older tsbpf
// versions) not rewritten for PRUNE_AFTER_DAYS are removed when a new one is written.
import { closeSync, constants, fstatSync, type Stats, lstatSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

const PREFIX = 'tsbpf-';
const SUFFIX = '.v8cache';
const PRUNE_AFTER_DAYS = 30;

/** Why a cache directory or file is not used, for the log. */
export type Refusal = string;

/** The cache directory the environment asks for, or a Refusal (turned off, relative, no home directory). */
export function cacheDirectory(env: NodeJS.ProcessEnv = process.env): string | { refusal: Refusal } {
  if (env.TSBPF_COMPILE_CACHE === '0') return { refusal: 'turned off (TSBPF_COMPILE_CACHE=0)' };
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

/**
 * The cache file name for a bundle: `sha256` is its source's SHA-256 (hex, from
 * the build), `file` the fstat of the bundle file the source was read from.
 */
export function cacheFileName(sha256: string, file: Pick<Stats, 'size' | 'mtimeMs' | 'ino' | 'dev'>): string {
  return `${PREFIX}${digest128(`${sha256}\0${file.size}\0${file.mtimeMs}\0${file.ino}\0${file.dev}\0${process.version}\0${process.arch}`)}${SUFFIX}`;
}

/** 32 hex digits from a short string: four 32-bit FNV-1a hashes with different offset bases (a name, not a MAC). */
function digest128(text: string): string {
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

/** Write `data` as `path` (mode 0600) through a temporary file and a rename; prune stale caches. */
export function writeCacheFile(dir: string, name: string, data: Buffer): void {
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' }); // fails on a leftover of someone else's: theirs to clean
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  pruneStale(dir, name);
}

/** Remove other bundles' caches (and leftover temporary files) not rewritten for PRUNE_AFTER_DAYS. */
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
