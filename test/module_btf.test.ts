// Kfuncs and CO-RE types that live in a kernel module where the kernel has
// modules (the VM guests: test/vm/suite/module_btf.test.ts); here, on the
// development kernel (no CONFIG_MODULES), conntrack is part of vmlinux and
// the same object loads through vmlinux's BTF.
import { describe } from 'vitest';
import { needsRoot } from './helpers/env.ts';
import { moduleKfuncTests } from './helpers/module_btf.ts';

describe.skipIf(needsRoot)('conntrack kfuncs on the development kernel', () => {
  moduleKfuncTests('host', 'vmlinux');
});
