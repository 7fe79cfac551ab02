// `tsbpf btf dump [vmlinux|FILE|OBJ] [--type NAME...] [--format c|ts|raw]`.
import { writeFileSync } from 'node:fs';
import { type Btf, BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_NAMES, BtfError, loadKernelBtf, parseBtf, VMLINUX_BTF_PATH, type BtfType } from '../btf/index.ts';
import { btfToCHeader } from '../codegen/c_header.ts';
import { TsbpfError } from '../errors.ts';
import { ArgError, parse } from './args.ts';
import { parseObjectFile, readInput } from './inspect.ts';

const SPEC = {
  usage: 'tsbpf btf dump [vmlinux|FILE|OBJ] [--type NAME...] [--format c|ts|raw]',
  summary: 'Write the types of a BTF: the running kernel\'s (vmlinux, the default), a raw BTF file (/sys/kernel/btf/*) or the .BTF of an object file. --format c (default) writes a vmlinux.h-style header that compiles: every type defined before it is embedded, forward declarations for pointer cycles, padding and bitfields as laid out, wrapped in preserve_access_index as bpftool does. --format raw lists every type with its id like `bpftool btf dump`. --format ts writes TypeScript declarations. --type limits the output to the named types (and, for c/ts, what they need).',
  options: {
    type: { type: 'string' as const, short: 't', multiple: true as const },
    format: { type: 'string' as const, short: 'f' },
    output: { type: 'string' as const, short: 'o' },
  },
  optionHelp: { type: 'only this type (by name) and its dependencies', format: 'c (default), ts or raw', output: 'write to this file instead of stdout' },
  positionals: [0, 1] as [number, number],
  examples: ['tsbpf btf dump vmlinux --format c > vmlinux.h', 'tsbpf btf dump bpf/bootstrap.bpf.o --format raw', 'tsbpf btf dump --type task_struct --format c'],
};

/** The BTF named on the command line. */
export function loadBtfSource(src: string): Btf {
  if (src === 'vmlinux') return loadKernelBtf();
  if (src === VMLINUX_BTF_PATH) return loadKernelBtf();
  const bytes = readInput(src, 'BTF source');
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    const spec = parseObjectFile(src);
    if (!spec.btf) throw new TsbpfError(`${src}: the object has no .BTF section (compile with clang -g)`);
    return spec.btf;
  }
  try {
    return parseBtf(bytes, { name: src });
  } catch (e) {
    // A kernel module's BTF is split: its ids continue vmlinux's.
    if (src.startsWith('/sys/kernel/btf/')) return parseBtf(bytes, { name: src, base: loadKernelBtf() });
    if (e instanceof BtfError) throw new TsbpfError(`${src}: neither an ELF object nor a BTF blob (${e.message})`, { cause: e });
    throw e;
  }
}

/** Type ids for the --type names (every kind but FUNC/VAR/DATASEC first; any kind when nothing else has the name). */
export function idsForNames(btf: Btf, names: string[]): number[] {
  const ids: number[] = [];
  for (const name of names) {
    const all = btf.findByName(name);
    const types = all.filter((id) => ![12, 14, 15, 17].includes(btf.kindOf(id)));
    const pick = types.length ? types : all;
    if (!pick.length) throw new TsbpfError(`${btf.name}: no type named "${name}"`);
    ids.push(...pick);
  }
  return ids;
}

function intEncoding(enc: number): string {
  if (enc & BTF_INT_SIGNED) return 'SIGNED';
  if (enc & BTF_INT_CHAR) return 'CHAR';
  if (enc & BTF_INT_BOOL) return 'BOOL';
  return '(none)';
}

/** One type as bpftool's raw dump prints it (header line, then one line per member/value/param). */
export function rawType(btf: Btf, t: BtfType): string {
  const q = (s: string) => `'${s || '(anon)'}'`;
  const head = `[${t.id}] ${BTF_KIND_NAMES[t.kind]} ${q(t.name)}`;
  switch (t.kind) {
    case 1: return `${head} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${intEncoding(t.encoding)}`;
    case 2: case 8: case 9: case 10: case 11: return `${head} type_id=${t.type}`;
    case 3: return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
    case 4: case 5:
      return [`${head} size=${t.size} vlen=${t.members.length}`, ...t.members.map((m) => `\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ''}`)].join('\n');
    case 6: case 19:
      return [`${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`, ...t.values.map((v) => `\t${q(v.name)} val=${v.value}${t.kind === 19 ? (t.signed ? 'LL' : 'ULL') : ''}`)].join('\n');
    case 7: return `${head} fwd_kind=${t.union ? 'union' : 'struct'}`;
    case 12: return `${head} type_id=${t.type} linkage=${['static', 'global', 'extern'][t.linkage] ?? t.linkage}`;
    case 13: return [`${head} ret_type_id=${t.type} vlen=${t.params.length}`, ...t.params.map((p) => `\t${q(p.name)} type_id=${p.type}`)].join('\n');
    case 14: return `${head} type_id=${t.type}, linkage=${['static', 'global', 'extern'][t.linkage] ?? t.linkage}`;
    case 15: return [`${head} size=${t.size} vlen=${t.vars.length}`, ...t.vars.map((v) => `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${BTF_KIND_NAMES[btf.kindOf(v.type)]} ${q(btf.nameOf(v.type))})`)].join('\n');
    case 16: return `${head} size=${t.size}`;
    case 17: return `${head} type_id=${t.type} component_idx=${t.componentIdx}`;
    case 18: return `${head} type_id=${t.type}`;
  }
}

export async function main(args: string[]): Promise<number> {
  if (args[0] !== 'dump') {
    if (args[0] === '--help' || args[0] === '-h' || args[0] === undefined) return main(['dump', '--help']);
    throw new ArgError(`unknown btf subcommand "${args[0]}" (dump)`, SPEC.usage);
  }
  const { values, positionals } = parse(args.slice(1), SPEC);
  const format = values.format ?? 'c';
  if (!['c', 'ts', 'raw'].includes(format)) throw new ArgError(`--format must be c, ts or raw, got "${format}"`, SPEC.usage);
  const btf = loadBtfSource(positionals[0] ?? 'vmlinux');
  const names = values.type as string[] | undefined;
  const roots = names?.length ? idsForNames(btf, names) : undefined;
  let text: string;
  if (format === 'c') {
    text = btfToCHeader(btf, { roots });
  } else if (format === 'raw') {
    const ids = roots ?? Array.from({ length: btf.typeCount }, (_, i) => i + 1);
    const lines: string[] = [];
    for (const id of ids) lines.push(rawType(btf, btf.decode(id)));
    text = lines.join('\n') + '\n';
  } else {
    const { tsTypes } = await import('./ts_bridge.ts');
    text = tsTypes(btf, roots ?? 'all');
  }
  if (values.output) writeFileSync(values.output, text);
  else process.stdout.write(text);
  return 0;
}
