// Copies of byte arrays that are always copies. `Buffer#slice` returns a view
// that shares memory with the original (unlike `Uint8Array#slice`), so a
// `.slice()` meant as a copy silently writes through to its source when the
// source happens to be a Buffer (a file read with readFileSync). Every place
// that needs bytes of its own goes through copyBytes().

/**
 * A new plain Uint8Array (never a Buffer) holding a copy of `src`, or of
 * `src[start, end)`, in an ArrayBuffer of its own.
 */
export function copyBytes(src: Uint8Array, start = 0, end = src.length): Uint8Array {
  const from = Math.max(0, Math.min(start, src.length));
  const to = Math.max(from, Math.min(end, src.length));
  const out = new Uint8Array(to - from);
  out.set(src.subarray(from, to));
  return out;
}
