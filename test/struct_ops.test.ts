// struct_ops on the development kernel (6.18): the BPF Reno of bpf/tcp_reno.h
// registered by map update and by link, carrying a loopback TCP connection.
// The same tests run in the VM guests (test/vm/suite/struct_ops.test.ts).
import { describe } from 'vitest';
import { needsRoot } from './helpers/env.ts';
import { structOpsTests } from './helpers/struct_ops.ts';

describe.skipIf(needsRoot)('struct_ops on the development kernel', () => {
  structOpsTests('host', true);
});
