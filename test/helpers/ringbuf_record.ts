// The JS side of bpf/ringbuf_bench.h, for tests and benchmarks (like
// producers.ts, not part of the public API): struct rec is 16 bytes
// { u64 seq; u64 check } with check = rec_check(seq) = ((seq * MUL) mod 2^64) ^ XOR.
export const REC_SIZE = 16;
const MUL = 0x9e3779b97f4a7c15n;
const XOR = 0x5bd1e9955bd1e995n;
const MUL_LO = 0x7f4a7c15;
const MUL_HI = 0x9e3779b9 | 0;
const XOR_LO = 0x5bd1e995 | 0;
const XOR_HI = 0x5bd1e995 | 0;

/** rec_check() with BigInt (the reference). */
export function recCheckBig(seq: bigint): bigint {
  return BigInt.asUintN(64, seq * MUL) ^ XOR;
}

/** High 32 bits of the unsigned 64-bit product of two uint32 (16-bit limbs: every partial product is exact). */
function mulHiU32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p01 = a0 * b1, p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** rec_check(seq) for seq < 2^32 as [low, high] int32 halves: no BigInt on the hot path. */
export function recCheck(seq: number): [number, number] {
  const lo = Math.imul(seq, MUL_LO) ^ XOR_LO;
  const hi = ((mulHiU32(seq, MUL_LO) + Math.imul(seq, MUL_HI)) | 0) ^ XOR_HI;
  return [lo, hi];
}
