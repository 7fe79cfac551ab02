import { TsbpfError } from '../errors.ts';
import { errnoDescription, errnoName } from '../syscall/index.ts';

/**
 * BPF_PROG_LOAD failed. Carries the errno, the program's name, a short
 * summary (the verifier's last words) and the full verifier log.
 */
export class ProgramLoadError extends TsbpfError {
  override readonly errno: number;
  override readonly code: string;
  readonly program: string;
  readonly log: string;
  readonly summary: string;
  readonly notes: string;
  /** The object (file name) the program comes from, when it was loaded as part of one. */
  readonly object: string | undefined;

  constructor(program: string, section: string | undefined, errno: number, log: string, notes = '', object?: string) {
    const code = errnoName(errno);
    const summary = summarizeVerifierLog(log);
    const where = section ? `program "${program}" (section ${section})` : `program "${program}"`;
    let message = `${object ? `${object}: ` : ''}loading ${where}: ${code} (${errnoDescription(errno)})`;
    if (summary) message += `\nverifier: ${summary.split('\n').join('\n          ')}`;
    else if (errno === 1) message += '\n(no verifier log: the kernel refused before verification — missing capability or a policy forbids this program type)';
    if (notes) message += `\n${notes}`;
    super(message);
    this.name = 'ProgramLoadError';
    this.errno = errno;
    this.code = code;
    this.program = program;
    this.log = log;
    this.summary = summary;
    this.notes = notes;
    this.object = object;
  }
}

/**
 * The verifier's last meaningful lines: the log ends with the error, followed
 * by statistics ("processed N insns ...") that say nothing about the cause.
 */
export function summarizeVerifierLog(log: string, maxLines = 3): string {
  const lines = log
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0 && !/^processed \d+ insns/.test(l) && !/^verification time/.test(l) && !/^stack depth/.test(l));
  return lines.slice(-maxLines).join('\n');
}
