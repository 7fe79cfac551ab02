/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * core.h - the snapshot core.bpf.c takes of a task through CO-RE reads.
 * All fields are naturally aligned; user space can read it with the offsets
 * the C compiler gives (x86_64 and BPF agree). Strings are NUL-terminated.
 */
#ifndef __CORE_H
#define __CORE_H

#define CORE_COMM_LEN 16
#define CORE_NAME_LEN 32
#define CORE_NODENAME_LEN 65

struct core_snapshot {
	/* task_struct */
	unsigned int pid;            /* task->pid (thread id) */
	unsigned int tgid;           /* task->tgid */
	unsigned int ppid;           /* task->real_parent->tgid */
	unsigned int parent_pid;     /* task->parent->pid */
	unsigned int leader_pid;     /* task->group_leader->pid */
	unsigned int state;          /* __state, or `state` on old kernels */
	unsigned int flags;          /* PF_* */
	int prio;
	int static_prio;
	int exit_code;
	unsigned int bit_reset_on_fork;   /* bitfields, probed reads */
	unsigned int bit_in_execve;
	unsigned int bit_in_iowait;
	unsigned int pad0;
	unsigned long long start_time;      /* CLOCK_MONOTONIC ns */
	unsigned long long start_boottime;  /* CLOCK_BOOTTIME ns */
	unsigned long long nvcsw;
	unsigned long long nivcsw;
	unsigned long long min_flt;
	unsigned long long maj_flt;
	char comm[CORE_COMM_LEN];
	char parent_comm[CORE_COMM_LEN];

	/* cred (task->real_cred and task->cred) */
	unsigned int uid;
	unsigned int gid;
	unsigned int euid;
	unsigned int egid;
	unsigned long long cap_effective;   /* first 64 bits */
	unsigned int cap_size;              /* sizeof(cap_effective) in this kernel */
	unsigned int pad1;

	/* mm_struct */
	unsigned long long start_code;
	unsigned long long end_code;
	unsigned long long start_brk;
	unsigned long long brk;
	unsigned long long start_stack;
	unsigned long long arg_start;
	unsigned long long arg_end;
	unsigned long long env_start;
	unsigned long long total_vm;        /* pages */
	int map_count;

	/* mm->exe_file: file, path, dentry, qstr, inode, super_block,
	 * file_system_type, vfsmount */
	unsigned int exe_f_flags;
	unsigned int exe_f_mode;
	unsigned int exe_mode;              /* inode->i_mode */
	unsigned long long exe_ino;
	long long exe_size;
	unsigned int exe_nlink;
	unsigned int exe_uid;
	unsigned int exe_dev;               /* sb->s_dev, kernel encoding MAJOR<<20|MINOR */
	unsigned int exe_name_len;          /* dentry->d_name.len */
	unsigned long long exe_sb_magic;
	unsigned long long exe_blocksize;
	unsigned int mnt_flags;
	unsigned int pad2;
	unsigned long long mnt_root_ino;
	char exe_name[CORE_NAME_LEN];        /* basename of the executable */
	char exe_parent_name[CORE_NAME_LEN]; /* name of its directory */
	char fstype[CORE_COMM_LEN];          /* sb->s_type->name */

	/* fs_struct */
	unsigned long long cwd_ino;
	char cwd_name[CORE_NAME_LEN];       /* basename of the cwd ("/" for root) */

	/* files_struct / fdtable */
	unsigned int max_fds;
	unsigned int next_fd;
	unsigned long long open_fds0;       /* first word of the open-fd bitmap */
	unsigned long long fd0_ino;         /* inode number of fd 0 */

	/* signal_struct / pid / upid */
	int nr_threads;
	unsigned int pgid;                  /* signal->pids[PIDTYPE_PGID] */
	unsigned int sid;                   /* signal->pids[PIDTYPE_SID] */
	unsigned int pid_level;             /* thread_pid->level */
	unsigned int pid_nr;                /* thread_pid->numbers[0].nr */

	/* nsproxy and the namespaces (ns_common.inum = /proc/PID/ns/X inode) */
	unsigned int pidns_inum;
	unsigned int pidns_level;
	unsigned int utsns_inum;
	unsigned int mntns_inum;
	unsigned int netns_inum;
	char nodename[CORE_NODENAME_LEN];   /* uts_ns->name.nodename (hostname) */
	char pad3[3];

	/* relocations that produce constants */
	unsigned int has_state_old;         /* task_struct___old.state exists: 0 on 5.14+ */
	unsigned int has_state_new;         /* task_struct.__state exists: 1 on 5.14+ */
	unsigned int has_missing_field;     /* always 0 */
	unsigned int comm_size;             /* 16 */
	unsigned int comm_offset;           /* offsetof(struct task_struct, comm) */
	unsigned int task_size;             /* sizeof(struct task_struct) in this kernel */
	unsigned int task_btf_id;           /* vmlinux BTF id of struct task_struct */
	unsigned int task_matches;          /* bpf_core_type_matches(struct task_struct):
					     * libbpf 1.1.2 gives 0 here (it fails
					     * structs with anonymous members) */
	unsigned int bad_flavor_matches;    /* a flavor with the wrong comm type: 0 */
	unsigned int skb_exists;            /* 1 */
	unsigned int missing_type_exists;   /* 0 */
	unsigned int sock_size;             /* sizeof(struct sock) */
	unsigned int skb_len_size;          /* sizeof(sk_buff.len) = 4 */
	unsigned int skc_family_offset;     /* offsetof(sock_common, skc_family) */
	unsigned int sk_rcvbuf_exists;      /* 1 */
	unsigned int pgid_enum_exists;      /* PIDTYPE_PGID in enum pid_type: 1 */
	unsigned int sid_enum_value;        /* PIDTYPE_SID's value in this kernel */
	unsigned int missing_enum_exists;   /* 0 */
	unsigned int ringbuf_enum_value;    /* BPF_MAP_TYPE_RINGBUF = 27 */
	unsigned int upid_matches;          /* bpf_core_type_matches(struct upid): 1 */
};

#endif /* __CORE_H */
