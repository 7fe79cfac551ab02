// BPF tokens on the development kernel (6.18: tokens exist since 6.9; its
// policy may refuse them, which is a named skip). Also run in the 6.12 guest
// (test/vm/suite/token.test.ts).
import { describe } from 'vitest';
import { needsRoot } from './helpers/env.ts';
import { tokenTests } from './helpers/token.ts';

describe.skipIf(needsRoot)('BPF tokens on the development kernel', () => {
  tokenTests('host', undefined);
});
