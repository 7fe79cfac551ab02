// struct_ops tests shared by the host suite (test/struct_ops.test.ts) and the
// VM suite (test/vm/suite/struct_ops.test.ts): a TCP congestion control
// written in BPF (bpf/tcp_reno.h) is registered, selected for a loopback
// connection with setsockopt(TCP_CONGESTION) by a small C client, seen to
// run (its programs count their calls), and gone once the object is
// destroyed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotSupportedError } from '../../src/errors.ts';
import { BpfObject } from '../../src/object/index.ts';
import { fdCount, kernelRefusal } from './env.ts';
import { fixtureBinary } from './fixtures.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
/** bpf/tcp_reno.h's CC_* slots of calls[]. */
const CC = { init: 0, ssthresh: 1, cong_avoid: 2, undo_cwnd: 3, set_state: 4, cwnd_event: 5, release: 6 } as const;
const BYTES = 4 << 20;


const available = (): string[] => readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);

/**
 * `linkSupport`: whether `.struct_ops.link` maps must load here (6.4+); when
 * false, their load must fail with a NotSupportedError naming BPF_F_LINK.
 */
export function structOpsTests(label: string, linkSupport: boolean): void {
  describe(`struct_ops: a BPF TCP congestion control (${label})`, () => {
    for (const [file, name, link] of [
      ['tcp_reno.bpf.o', 'tsbpf_reno', false],
      ['tcp_reno_link.bpf.o', 'tsbpf_reno_link', true],
    ] as const) {
      it(`${name} (${link ? '.struct_ops.link, registered by a link' : '.struct_ops, registered by a map update'}) carries a loopback connection and leaves nothing behind`, async (ctx) => {
        const client = fixtureBinary('tcp_cc_client');
        const fds = fdCount();
        const obj = BpfObject.open(join(REPO, 'bpf', file));
        try {
          obj.load();
        } catch (e) {
          if (link && !linkSupport) {
            expect(e).toBeInstanceOf(NotSupportedError);
            expect((e as Error).message).toBe('tcp_reno_link: map "tsbpf_reno_link" (section .struct_ops.link): this kernel refused a struct_ops map registered by a link (BPF_F_LINK, Linux 6.4+)');
            expect(fdCount()).toBe(fds);
            return;
          }
          const refusal = kernelRefusal(e);
          if (refusal) return ctx.skip(`the kernel refused struct_ops (${refusal}): ${(e as Error).message}`);
          throw e;
        }
        if (link && !linkSupport) throw new Error(`${file} loaded on ${label}, where BPF_F_LINK struct_ops maps were expected to be refused`);
        let out: string;
        try {
          expect(available()).not.toContain(name); // loaded, not yet registered
          const reg = obj.attachStructOps(name);
          expect(reg.constructor.name).toBe(link ? 'StructOpsLink' : 'StructOpsRegistration');
          if (link) expect(reg.info().typeName).toBe('BPF_LINK_TYPE_STRUCT_OPS');
          expect(available()).toContain(name);
          const r = spawnSync(client, [name, String(BYTES)], { encoding: 'utf8', timeout: 60_000 });
          expect(r.status, `${r.stderr} (signal ${r.signal})`).toBe(0);
          out = r.stdout;
        } catch (e) {
          await obj.destroy();
          throw e;
        }
        const calls = Buffer.from(obj.bss.raw('calls'));
        const count = (op: keyof typeof CC) => Number(calls.readBigUInt64LE(CC[op] * 8));
        await obj.destroy();
        expect(out).toBe(`cc ${name} sent ${BYTES} received ${BYTES}\n`);
        // one connection used it: init once (at connect), release once (its socket closed)
        expect(count('init')).toBe(1);
        expect(count('release')).toBe(1);
        // and it ran while data moved (slow start and congestion avoidance on ACKs)
        expect(count('cong_avoid')).toBeGreaterThan(0);
        // unregistered: the name is gone, every fd is closed
        expect(available()).not.toContain(name);
        expect(fdCount()).toBe(fds);
      });
    }
  });
}
