// The published package's entry (dist/index.cjs, built by scripts/build.ts):
// it runs the bundled library, dist/tsbpf.cjs, through V8's code cache.
//
// Why. A fresh Node process compiles each of our functions the first time it
// runs: about 11 of the ~30 ms that opening and loading bpf/core.bpf.o takes
// in a fresh process (V8's function events; --no-lazy moves it all to start-up
// and the load drops to ~20 ms). C libbpf ships machine code. V8 can
// serialize the bytecode it compiled (vm.Script#createCachedData) and take it
// back in a later process (the `cachedData` option): the mechanism behind
// Node 22's module.enableCompileCache(), which Node 20 does not have.
//
// So: the bundle is compiled as a vm.Script with the cache file's bytes (see
// cache.ts for its name, src/util/disk_cache.ts for where it lives and when it
// is trusted). Without a cache, or
// when V8 rejects it (another Node, other V8 flags), the script compiles as
// usual and the cache is written once the process has done its work: at exit,
// or WRITE_AFTER_MS after start-up for a long-running tool, whichever comes
// first, so that it holds the functions that actually ran (V8 compiles lazily;
// a cache made right after loading would hold little more than the top level).
// ('exit' is not emitted when a signal ends the process: a tool stopped by
// Ctrl-C before WRITE_AFTER_MS leaves no cache, and the next run compiles.)
// A cache V8 accepted is rewritten only while it is thin: smaller than
// THIN_FRACTION of the source, as when the process that wrote it only
// imported the package (a `--help`); then this process, at exit, serializes
// what it compiled (~3 ms for the whole bundle) and keeps it if it is
// GROWTH larger. A full cache costs nothing at exit.
// DEBUG=tsbpf:cache narrates each decision.
import Module, { createRequire } from 'node:module';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { createLog } from '../util/log.ts';
import { cacheDirectory, cacheFileName, PRUNE_AFTER_DAYS, readCacheFile, trustDirectory, writeCacheFile } from './cache.ts';

const log = createLog('tsbpf:cache');
const WRITE_AFTER_MS = 10_000;
const THIN_FRACTION = 0.6;
const GROWTH = 1.1;

/**
 * Run the CommonJS bundle at `bundlePath` (through the compile cache when
 * allowed) and return its exports. `sha256` is the SHA-256 (hex) of its source,
 * computed by the build (scripts/build.ts).
 */
export function loadBundle(bundlePath: string, sha256: string): Record<string, unknown> {
  // source and fstat from one open file: a bundle replaced meanwhile is seen whole, old or new
  const fd = openSync(bundlePath, 'r');
  let source: string;
  let name: string;
  try {
    source = readFileSync(fd, 'latin1'); // the build makes bundles ASCII only: the same string as UTF-8, decoded without validation
    name = cacheFileName(sha256, fstatSync(fd));
  } finally {
    closeSync(fd);
  }
  const where = cacheDirectory('TSBPF_COMPILE_CACHE');
  const dir = typeof where === 'string' ? where : undefined;
  const refusal = typeof where === 'string' ? trustDirectory(where) : where.refusal;
  let cachedData: Buffer | undefined;
  if (refusal !== undefined) {
    log('compile cache not used: %s', refusal);
  } else {
    const got = readCacheFile(join(dir!, name));
    if (typeof got === 'string') log('compile cache %s: %s', name, got);
    else cachedData = got;
  }

  const script = new vm.Script(Module.wrap(source), { filename: bundlePath, cachedData });
  if (cachedData) log('compile cache %s: %s (%d bytes)', name, script.cachedDataRejected ? 'rejected by V8, compiling' : 'accepted', cachedData.length);
  const wrapper = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  const mod = { exports: {} as Record<string, unknown> };
  wrapper.call(mod.exports, mod.exports, createRequire(bundlePath), mod, bundlePath, dirname(bundlePath));

  const accepted = cachedData !== undefined && !script.cachedDataRejected;
  const thin = accepted && cachedData!.length < source.length * THIN_FRACTION;
  if (refusal === undefined && (!accepted || thin)) {
    let written = false;
    const save = (): void => {
      if (written) return;
      written = true;
      try {
        const data = script.createCachedData();
        if (thin && data.length < cachedData!.length * GROWTH) return; // this process ran no more of our code
        writeCacheFile(dir!, name, data, PRUNE_AFTER_DAYS);
        log('compile cache %s written (%d bytes)', name, data.length);
      } catch (e) {
        log('compile cache %s not written: %s', name, (e as Error).message);
      }
    };
    process.once('exit', save);
    setTimeout(save, WRITE_AFTER_MS).unref();
  }
  return mod.exports;
}
