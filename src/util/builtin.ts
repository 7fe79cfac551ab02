// Node's built-in modules that only some features use, required on first use
// rather than imported: a fresh process pays for each one it loads (node:zlib
// ~0.5 ms), and a tool that only loads an object should not pay for the rest.
import { createRequire } from 'node:module';

// this file (see src/syscall/koffi.ts for why import.meta.url is asked first)
const require = createRequire(typeof import.meta.url === 'string' ? import.meta.url : __filename);

/** The built-in module `name` (cached by Node after the first call). */
export function builtin<T>(name: `node:${string}`): T {
  return require(name) as T;
}
