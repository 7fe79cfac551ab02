// What the commands print: text lines, aligned tables, one JSON document.
import { toJson } from '../codegen/decode.ts';

/** Write to stdout (synchronous for files and pipes on Linux, so an exit right after loses nothing). */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** One JSON document (bigints as decimal strings, bytes as hex), pretty unless `compact`. */
export function outJson(value: unknown, compact = false): void {
  out(JSON.stringify(toJson(value), null, compact ? undefined : 2));
}

/** Rows aligned in columns, the header first; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** "12.3 KiB" */
export function bytesHuman(n: number | bigint): string {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}
