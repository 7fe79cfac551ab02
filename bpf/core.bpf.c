// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * core.bpf.c - a CO-RE-heavy object: about a hundred relocations over more
 * than 20 kernel types, every relocation kind libbpf 1.1 knows.
 *
 * A static subprogram, fill_snapshot(), walks from a task_struct through
 *   task_struct, cred, mm_struct, file, path, dentry, qstr, inode,
 *   super_block, file_system_type, vfsmount, fs_struct, files_struct,
 *   fdtable, signal_struct, pid, upid, nsproxy, pid_namespace,
 *   uts_namespace, new_utsname, mnt_namespace, net, ns_common
 * with BPF_CORE_READ (field byte offsets), probes bitfields with
 * BPF_CORE_READ_BITFIELD_PROBED (byte offset, byte size, lshift, rshift,
 * signedness), and records field existence and sizes, type existence, size,
 * kernel type ids and type matches, and enum value existence and values
 * (including for sk_buff, sock and sock_common). A `___old` flavor handles
 * task_struct's state -> __state rename (5.14); guarded relocations that
 * cannot be resolved are poisoned by the loader and removed as dead code.
 *
 * Programs (both call fill_snapshot for the current task, then store the
 * result in `snapshots[tgid]` and send it to the ring buffer `events`):
 *   core_getpgid  SEC("tp/syscalls/sys_enter_getpgid"), filtered by
 *                 target_pid (0: every process)
 *   core_syscall  SEC("syscall"): BPF_PROG_TEST_RUN it to snapshot the
 *                 calling process, no attach needed
 * Maps: snapshots (hash tgid -> struct core_snapshot), events (ringbuf
 * 256 KiB), scratch (per-CPU array, 1 entry: the snapshot is too big for the
 * stack), counts (array, 2 x u64: runs of core_getpgid, core_syscall).
 * The record layout is in core.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "core.h"

char LICENSE[] SEC("license") = "GPL";

const volatile int target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct core_snapshot);
} snapshots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct core_snapshot);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

/* Flavors: the part after ___ is ignored when matching kernel types. */

/* task_struct before 5.14 had `long state` instead of `unsigned int __state` */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* a field no kernel has */
struct task_struct___tsbpf {
	int tsbpf_no_such_field;
} __attribute__((preserve_access_index));

/* same name, but comm has the wrong type: bpf_core_type_matches says 0 */
struct task_struct___bad {
	int pid;
	char *comm;
};

/* an enumerator no kernel has */
enum pid_type___tsbpf {
	PIDTYPE_TSBPF_MISSING = 42,
};

/* a type no kernel has */
struct tsbpf_no_such_type {
	int x;
};

static __noinline int fill_snapshot(struct task_struct *task, struct core_snapshot *s)
{
	struct task_struct___old *old = (void *)task;
	struct file *exe;
	struct dentry *d;
	struct fdtable *fdt;
	struct file *fd0;
	const char *name;

	/* task_struct */
	s->pid = BPF_CORE_READ(task, pid);
	s->tgid = BPF_CORE_READ(task, tgid);
	s->ppid = BPF_CORE_READ(task, real_parent, tgid);
	s->parent_pid = BPF_CORE_READ(task, parent, pid);
	s->leader_pid = BPF_CORE_READ(task, group_leader, pid);
	if (bpf_core_field_exists(old->state))
		s->state = BPF_CORE_READ(old, state);
	else
		s->state = BPF_CORE_READ(task, __state);
	s->flags = BPF_CORE_READ(task, flags);
	s->prio = BPF_CORE_READ(task, prio);
	s->static_prio = BPF_CORE_READ(task, static_prio);
	s->exit_code = BPF_CORE_READ(task, exit_code);
	s->bit_reset_on_fork = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	s->bit_in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	s->bit_in_iowait = BPF_CORE_READ_BITFIELD_PROBED(task, in_iowait);
	s->start_time = BPF_CORE_READ(task, start_time);
	s->start_boottime = BPF_CORE_READ(task, start_boottime);
	s->nvcsw = BPF_CORE_READ(task, nvcsw);
	s->nivcsw = BPF_CORE_READ(task, nivcsw);
	s->min_flt = BPF_CORE_READ(task, min_flt);
	s->maj_flt = BPF_CORE_READ(task, maj_flt);
	BPF_CORE_READ_STR_INTO(&s->comm, task, comm);
	BPF_CORE_READ_STR_INTO(&s->parent_comm, task, real_parent, comm);

	/* cred */
	s->uid = BPF_CORE_READ(task, real_cred, uid.val);
	s->gid = BPF_CORE_READ(task, real_cred, gid.val);
	s->euid = BPF_CORE_READ(task, cred, euid.val);
	s->egid = BPF_CORE_READ(task, cred, egid.val);
	s->cap_size = bpf_core_field_size(task->cred->cap_effective);
	BPF_CORE_READ_INTO(&s->cap_effective, task, cred, cap_effective);

	/* mm_struct */
	s->start_code = BPF_CORE_READ(task, mm, start_code);
	s->end_code = BPF_CORE_READ(task, mm, end_code);
	s->start_brk = BPF_CORE_READ(task, mm, start_brk);
	s->brk = BPF_CORE_READ(task, mm, brk);
	s->start_stack = BPF_CORE_READ(task, mm, start_stack);
	s->arg_start = BPF_CORE_READ(task, mm, arg_start);
	s->arg_end = BPF_CORE_READ(task, mm, arg_end);
	s->env_start = BPF_CORE_READ(task, mm, env_start);
	s->total_vm = BPF_CORE_READ(task, mm, total_vm);
	s->map_count = BPF_CORE_READ(task, mm, map_count);

	/* the executable: file -> path -> dentry / vfsmount, inode, super_block */
	exe = BPF_CORE_READ(task, mm, exe_file);
	s->exe_f_flags = BPF_CORE_READ(exe, f_flags);
	s->exe_f_mode = BPF_CORE_READ(exe, f_mode);
	s->exe_mode = BPF_CORE_READ(exe, f_inode, i_mode);
	s->exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
	s->exe_size = BPF_CORE_READ(exe, f_inode, i_size);
	s->exe_nlink = BPF_CORE_READ(exe, f_inode, i_nlink);
	s->exe_uid = BPF_CORE_READ(exe, f_inode, i_uid.val);
	s->exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
	s->exe_sb_magic = BPF_CORE_READ(exe, f_inode, i_sb, s_magic);
	s->exe_blocksize = BPF_CORE_READ(exe, f_inode, i_sb, s_blocksize);
	name = BPF_CORE_READ(exe, f_inode, i_sb, s_type, name);
	bpf_probe_read_kernel_str(&s->fstype, sizeof(s->fstype), name);
	d = BPF_CORE_READ(exe, f_path.dentry);
	s->exe_name_len = BPF_CORE_READ(d, d_name.len);
	name = (const char *)BPF_CORE_READ(d, d_name.name);
	bpf_probe_read_kernel_str(&s->exe_name, sizeof(s->exe_name), name);
	name = (const char *)BPF_CORE_READ(d, d_parent, d_name.name);
	bpf_probe_read_kernel_str(&s->exe_parent_name, sizeof(s->exe_parent_name), name);
	s->mnt_flags = BPF_CORE_READ(exe, f_path.mnt, mnt_flags);
	s->mnt_root_ino = BPF_CORE_READ(exe, f_path.mnt, mnt_root, d_inode, i_ino);

	/* fs_struct */
	s->cwd_ino = BPF_CORE_READ(task, fs, pwd.dentry, d_inode, i_ino);
	name = (const char *)BPF_CORE_READ(task, fs, pwd.dentry, d_name.name);
	bpf_probe_read_kernel_str(&s->cwd_name, sizeof(s->cwd_name), name);

	/* files_struct / fdtable */
	fdt = BPF_CORE_READ(task, files, fdt);
	s->max_fds = BPF_CORE_READ(fdt, max_fds);
	s->next_fd = BPF_CORE_READ(task, files, next_fd);
	s->open_fds0 = 0;
	bpf_probe_read_kernel(&s->open_fds0, sizeof(s->open_fds0), BPF_CORE_READ(fdt, open_fds));
	fd0 = NULL;
	bpf_probe_read_kernel(&fd0, sizeof(fd0), BPF_CORE_READ(fdt, fd));
	s->fd0_ino = fd0 ? BPF_CORE_READ(fd0, f_inode, i_ino) : 0;

	/* signal_struct, pid, upid */
	s->nr_threads = BPF_CORE_READ(task, signal, nr_threads);
	s->pgid = BPF_CORE_READ(task, signal, pids[PIDTYPE_PGID], numbers[0].nr);
	s->sid = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID], numbers[0].nr);
	s->pid_level = BPF_CORE_READ(task, thread_pid, level);
	s->pid_nr = BPF_CORE_READ(task, thread_pid, numbers[0].nr);

	/* nsproxy and namespaces */
	s->pidns_inum = BPF_CORE_READ(task, nsproxy, pid_ns_for_children, ns.inum);
	s->pidns_level = BPF_CORE_READ(task, nsproxy, pid_ns_for_children, level);
	s->utsns_inum = BPF_CORE_READ(task, nsproxy, uts_ns, ns.inum);
	s->mntns_inum = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	s->netns_inum = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	BPF_CORE_READ_STR_INTO(&s->nodename, task, nsproxy, uts_ns, name.nodename);

	/* relocations that become constants */
	s->has_state_old = bpf_core_field_exists(old->state);
	s->has_state_new = bpf_core_field_exists(task->__state);
	s->has_missing_field = bpf_core_field_exists(struct task_struct___tsbpf, tsbpf_no_such_field);
	s->comm_size = bpf_core_field_size(task->comm);
	s->comm_offset = bpf_core_field_offset(struct task_struct, comm);
	s->task_size = bpf_core_type_size(struct task_struct);
	s->task_btf_id = bpf_core_type_id_kernel(struct task_struct);
	s->task_matches = bpf_core_type_matches(struct task_struct);
	s->bad_flavor_matches = bpf_core_type_matches(struct task_struct___bad);
	s->upid_matches = bpf_core_type_matches(struct upid);
	s->skb_exists = bpf_core_type_exists(struct sk_buff);
	s->missing_type_exists = bpf_core_type_exists(struct tsbpf_no_such_type);
	s->sock_size = bpf_core_type_size(struct sock);
	s->skb_len_size = bpf_core_field_size(struct sk_buff, len);
	s->skc_family_offset = bpf_core_field_offset(struct sock_common, skc_family);
	s->sk_rcvbuf_exists = bpf_core_field_exists(struct sock, sk_rcvbuf);
	s->pgid_enum_exists = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_PGID);
	s->sid_enum_value = bpf_core_enum_value(enum pid_type, PIDTYPE_SID);
	s->missing_enum_exists = bpf_core_enum_value_exists(enum pid_type___tsbpf,
							     PIDTYPE_TSBPF_MISSING);
	s->ringbuf_enum_value = bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);
	return 0;
}

static __always_inline int snapshot_current(u32 slot)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u32 zero = 0, tgid = bpf_get_current_pid_tgid() >> 32;
	struct core_snapshot *s;
	u64 *cnt;

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	fill_snapshot(task, s);
	bpf_map_update_elem(&snapshots, &tgid, s, BPF_ANY);
	bpf_ringbuf_output(&events, s, sizeof(*s), 0);
	cnt = bpf_map_lookup_elem(&counts, &slot);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int core_getpgid(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid && pid != target_pid)
		return 0;
	return snapshot_current(0);
}

SEC("syscall")
int core_syscall(void *ctx)
{
	return snapshot_current(1);
}
