// The loader pipeline, narrated: `DEBUG=tsbpf:pipeline` (or `tsbpf:*`) logs
// one line per step, named as docs/internals.md names them, so a run reads
// like the tour: ELF -> BTF -> specs -> CO-RE -> maps -> relocations and
// linking -> program load -> attach -> ring buffer.
import createDebug from 'debug';

const log = createDebug('tsbpf:pipeline');

export type PipelineStep = 'ELF' | 'BTF' | 'specs' | 'CO-RE' | 'maps' | 'relocations and linking' | 'program load' | 'attach' | 'ring buffer';

/** Log `format` (debug's %s/%d/%o) under step `name`. */
export function step(name: PipelineStep, format: string, ...args: unknown[]): void {
  if (log.enabled) log(`[${name}] ${format}`, ...args);
}
