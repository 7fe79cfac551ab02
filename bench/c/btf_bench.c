// C libbpf baseline for bench/btf.ts: parse vmlinux BTF, find 15 kernel structs
// by name and walk their members (names and member types), timing the work.
// Prints one line: {"parse_ms":..,"find_ms":..,"total_ms":..,"members":N}
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *names[] = {
	"task_struct", "mm_struct", "file", "dentry", "inode", "sk_buff", "sock", "net_device",
	"super_block", "cred", "pid", "vm_area_struct", "page", "files_struct", "signal_struct",
};

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/sys/kernel/btf/vmlinux";
	double t0 = now_ms();
	struct btf *btf = btf__parse(path, NULL);
	if (!btf) {
		fprintf(stderr, "btf__parse(%s) failed\n", path);
		return 1;
	}
	double t1 = now_ms();
	unsigned long members = 0, checksum = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int id = btf__find_by_name_kind(btf, names[i], BTF_KIND_STRUCT);
		if (id < 0) {
			fprintf(stderr, "struct %s not found\n", names[i]);
			return 1;
		}
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_member *m = btf_members(t);
		for (int j = 0; j < btf_vlen(t); j++, m++) {
			/* the member's name and the kind and name of its type, as the TS side decodes them */
			const char *mname = btf__name_by_offset(btf, m->name_off);
			const struct btf_type *mt = btf__type_by_id(btf, m->type);
			const char *tname = btf__name_by_offset(btf, mt->name_off);
			checksum += strlen(mname) + strlen(tname) + btf_kind(mt) + btf_member_bit_offset(t, j);
			members++;
		}
	}
	double t2 = now_ms();
	printf("{\"parse_ms\":%.4f,\"find_ms\":%.4f,\"total_ms\":%.4f,\"members\":%lu,\"checksum\":%lu}\n",
	       t1 - t0, t2 - t1, t2 - t0, members, checksum);
	btf__free(btf);
	return 0;
}
