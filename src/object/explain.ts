// Friendlier verifier failures: the C source line the verifier stopped at
// (from line_info, which the kernel echoes into its log as "; <line> @ file:N")
// and, when the program ran into a poisoned CO-RE instruction, which
// relocation could not be resolved against this kernel.
import { explainPoison } from '../relo/index.ts';
import type { CoreOutcome } from './core.ts';
import type { LinkedProgram } from './linker.ts';

export function explainFailure(verifierLog: string, linked: LinkedProgram, outcomes: CoreOutcome[]): string | undefined {
  const notes: string[] = [];
  const poison = explainPoison(verifierLog, outcomes);
  if (poison) notes.push(`CO-RE: ${poison}`);
  const source = lastSourceLine(verifierLog) ?? lineInfoForLastInsn(verifierLog, linked);
  if (source) notes.push(`at ${source}`);
  return notes.length ? notes.join('\n') : undefined;
}

/** The last "; <source> @ <file>:<line>" annotation the verifier printed. */
export function lastSourceLine(log: string): string | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^; (.*) @ (\S+):(\d+)\s*$/.exec(lines[i]!);
    if (m) return `${m[2]}:${m[3]}: ${m[1]!.trim()}`;
  }
  return undefined;
}

/** When the log has no annotation: the line_info of the last instruction the verifier mentions. */
function lineInfoForLastInsn(log: string, linked: LinkedProgram): string | undefined {
  const lines = log.split('\n');
  let insn: number | undefined;
  for (let i = lines.length - 1; i >= 0 && insn === undefined; i--) {
    const m = /^(\d+): \(/.exec(lines[i]!);
    if (m) insn = Number(m[1]);
  }
  if (insn === undefined) return undefined;
  let best: LinkedProgram['lineInfo'][number] | undefined;
  for (const li of linked.lineInfo) if (li.insnIdx <= insn && (!best || li.insnIdx >= best.insnIdx)) best = li;
  return best ? `${best.info.fileName}:${best.info.lineNum}: ${best.info.line.trim()}` : undefined;
}
