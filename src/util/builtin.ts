// Node's built-in modules that only some features use, required on first use
// rather than imported: a fresh process pays for each one it loads (node:zlib
// ~0.5 ms), and a tool that only loads an object should not pay for the rest.
import { createRequire } from 'node:module';
import { ownFile } from './own_file.ts';

const require = createRequire(ownFile(import.meta.url));

/** The built-in module `name` (cached by Node after the first call). */
export function builtin<T>(name: `node:${string}`): T {
  return require(name) as T;
}
