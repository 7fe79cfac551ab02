// Facts about the guest that every other VM test relies on. Runs only inside
// the VM (npm run test:vm sets TSBPF_VM=1).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { guestKernelId } from './guest.ts';

const mountTypes = (): Map<string, string> => {
  const m = new Map<string, string>();
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, mnt, type] = line.split(' ');
    if (mnt && type) m.set(mnt, type);
  }
  return m;
};

describe.skipIf(process.env.TSBPF_VM !== '1')(`VM guest (Debian ${guestKernelId})`, () => {
  it('runs the kernel of the matrix it was booted for', () => {
    expect(guestKernelId).toMatch(/^\d+\.\d+$/);
    expect(release().startsWith(`${guestKernelId}.`)).toBe(true);
    expect(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()).toBe(release());
  });

  it('runs as root', () => {
    expect(process.getuid?.()).toBe(0);
    expect(process.geteuid?.()).toBe(0);
  });

  it('has the kprobe PMU', () => {
    expect(existsSync('/sys/bus/event_source/devices/kprobe')).toBe(true);
    expect(Number(readFileSync('/sys/bus/event_source/devices/kprobe/type', 'utf8'))).toBeGreaterThan(0);
  });

  it('has kernel BTF', () => {
    expect(statSync('/sys/kernel/btf/vmlinux').size).toBeGreaterThan(1 << 20);
  });

  it('has tracefs, bpffs and debugfs mounted', () => {
    const m = mountTypes();
    expect(m.get('/sys/kernel/tracing')).toBe('tracefs');
    expect(m.get('/sys/fs/bpf')).toBe('bpf');
    expect(m.get('/sys/kernel/debug')).toBe('debugfs');
    expect(existsSync('/sys/kernel/tracing/kprobe_events')).toBe(true);
  });

  it('has a writable /tmp and the kernel config in /boot', () => {
    expect(mountTypes().get('/tmp')).toBe('tmpfs');
    expect(readFileSync(`/boot/config-${release()}`, 'utf8')).toMatch(/^CONFIG_KPROBES=y$/m);
  });
});
