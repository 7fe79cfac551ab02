// Terminal histograms as bcc's libbpf-tools print them (print_log2_hist and
// print_linear_hist in their trace_helpers.c): one row per bucket with its
// range, its count and a bar of stars scaled to the largest count, e.g.
//
//      usecs               : count    distribution
//          0 -> 1          : 3        |****                                    |
//          2 -> 3          : 29       |****************************************|
//
// Buckets of a log2 histogram: slot i holds values in [2^i, 2^(i+1) - 1]
// (slot 0 holds 0 and 1). Rows run from slot 0 to the last non-empty one.
// Pure functions of the counts; tools that keep their own histogram map call
// them directly (see examples/syscall_latency.ts).

export type Counts = readonly (number | bigint)[];

/** The bar: `width` stars for `max`, proportionally fewer below, and a '+' when `val` exceeds `max`. */
function stars(val: number, max: number, width: number): string {
  const n = max > 0 ? Math.floor((Math.min(val, max) * width) / max) : 0;
  return '*'.repeat(n) + ' '.repeat(width - n) + (val > max ? '+' : '');
}

function toNumbers(counts: Counts): number[] {
  return counts.map((c) => Number(c));
}

/**
 * A log2 histogram, as text (lines ending in '\n'; '' when every count is 0).
 * `unit` names the values ("usecs", "nsecs", "bytes"). Wide layout (columns
 * for 20-digit ranges, half-width bars) past slot 32, as libbpf-tools does.
 */
export function formatLog2Hist(counts: Counts, unit = 'value'): string {
  const vals = toNumbers(counts);
  let last = -1;
  let max = 0;
  vals.forEach((v, i) => {
    if (v > 0) last = i;
    if (v > max) max = v;
  });
  if (last < 0) return '';
  const narrow = last <= 32;
  const width = narrow ? 10 : 20;
  const barWidth = narrow ? 40 : 20;
  const lines = [`${' '.repeat(narrow ? 5 : 15)}${unit.padEnd(narrow ? 19 : 29)} : count    distribution`];
  for (let i = 0; i <= last; i++) {
    let low = (1n << BigInt(i + 1)) >> 1n;
    const high = (1n << BigInt(i + 1)) - 1n;
    if (low === high) low -= 1n;
    const v = vals[i]!;
    lines.push(`${String(low).padStart(width)} -> ${String(high).padEnd(width)} : ${String(v).padEnd(8)} |${stars(v, max, barWidth)}|`);
  }
  return lines.join('\n') + '\n';
}

/** Write formatLog2Hist's text to stdout (or `write`). */
export function printLog2Hist(counts: Counts, unit = 'value', write: (s: string) => void = (s) => process.stdout.write(s)): void {
  write(formatLog2Hist(counts, unit));
}

/**
 * A linear histogram: slot i holds values in [base + i*step, base + (i+1)*step).
 * Rows for the non-empty slots between the first and the last non-empty one.
 */
export function formatLinearHist(counts: Counts, base: number, step: number, unit = 'value'): string {
  const vals = toNumbers(counts);
  let first = -1;
  let last = -1;
  let max = 0;
  vals.forEach((v, i) => {
    if (v > 0) {
      last = i;
      if (first < 0) first = i;
    }
    if (v > max) max = v;
  });
  if (last < 0) return '';
  const lines = [`     ${unit.padEnd(13)} : count     distribution`];
  for (let i = first; i <= last; i++) {
    const v = vals[i]!;
    if (v === 0) continue;
    lines.push(`        ${String(base + i * step).padEnd(10)} : ${String(v).padEnd(8)} |${stars(v, max, 40)}|`);
  }
  return lines.join('\n') + '\n';
}

/** Write formatLinearHist's text to stdout (or `write`). */
export function printLinearHist(counts: Counts, base: number, step: number, unit = 'value', write: (s: string) => void = (s) => process.stdout.write(s)): void {
  write(formatLinearHist(counts, base, step, unit));
}
