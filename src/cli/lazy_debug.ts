// The `debug` package as the CLI bundle sees it (scripts/build.ts points the
// bundle's `import createDebug from 'debug'` here): the real package only when
// DEBUG is set when the process starts, else a silent logger. Requiring
// `debug` (and the tty and supports-color modules it pulls in) is a
// noticeable part of a short command's start-up, and `tsbpf` runs with DEBUG
// unset almost always.
import type { Debugger } from 'debug';
import { createRequire } from 'node:module';

type CreateDebug = (namespace: string) => Debugger;

let real: CreateDebug | undefined;

function silent(namespace: string): Debugger {
  const log = (() => {}) as unknown as Debugger;
  Object.assign(log, { enabled: false, namespace, extend: (sub: string) => silent(`${namespace}:${sub}`) });
  return log;
}

export default function createDebug(namespace: string): Debugger {
  if (!process.env.DEBUG) return silent(namespace);
  real ??= createRequire(__filename)('debug') as CreateDebug;
  return real(namespace);
}
