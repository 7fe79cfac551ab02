// A small deterministic PRNG (sfc32) for the fuzzer: every input is a pure
// function of (seed, execution number), so a run can be resumed or replayed.

export class Rng {
  #a: number; #b: number; #c: number; #d: number;
  constructor(seed: number, stream = 0) {
    this.#a = seed >>> 0; this.#b = stream >>> 0; this.#c = 0x9e3779b9; this.#d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }
  /** 0 <= n < max (max >= 1). */
  below(max: number): number {
    return max <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * max);
  }
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}
