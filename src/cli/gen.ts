// `tsbpf gen skeleton OBJ`: a typed TypeScript module for one object.
import { writeFileSync } from 'node:fs';
import { ArgError, parse } from './args.ts';
import { readInput } from './inspect.ts';
import { skeleton } from './ts_bridge.ts';

const SPEC = {
  usage: 'tsbpf gen skeleton OBJ [-o FILE] [--name NAME] [--type NAME...] [--no-embed]',
  summary: 'Write a TypeScript skeleton for the object: a class that opens and loads it with typed access to its programs, maps and global variables, plus TypeScript types for the BTF types named with --type (e.g. the event struct of a ring buffer). The object\'s bytes are embedded unless --no-embed (then the skeleton reads OBJ\'s path at run time).',
  options: {
    output: { type: 'string' as const, short: 'o' },
    name: { type: 'string' as const },
    type: { type: 'string' as const, short: 't', multiple: true as const },
    'no-embed': { type: 'boolean' as const },
  },
  optionHelp: { output: 'write here instead of stdout', name: 'the skeleton\'s name (default: from the file name)', type: 'also emit this BTF type', 'no-embed': 'load the object from its path instead of embedding it' },
  positionals: [1, 1] as [number, number],
  examples: ['tsbpf gen skeleton bpf/bootstrap.bpf.o -o src/bootstrap.skel.ts --type event'],
};

export async function main(args: string[]): Promise<number> {
  if (args[0] !== 'skeleton') {
    if (args[0] === undefined || args[0] === '--help' || args[0] === '-h') return main(['skeleton', '--help']);
    throw new ArgError(`unknown gen subcommand "${args[0]}" (skeleton)`, SPEC.usage);
  }
  const { values, positionals } = parse(args.slice(1), SPEC);
  const path = positionals[0]!;
  const text = skeleton(readInput(path), { name: values.name, types: values.type, embed: !values['no-embed'], objectPath: path });
  if (values.output) writeFileSync(values.output, text);
  else process.stdout.write(text);
  return 0;
}
