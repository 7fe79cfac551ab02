// SPDX-License-Identifier: MIT
/*
 * oracle.c - differential oracle for tsbpf: loads a BPF object with C libbpf
 * (1.1 on the development machines) and prints what the kernel got.
 *
 *   oracle [options] OBJ.bpf.o
 *
 * Options:
 *   --skip X       do not load programs whose name equals X or whose section
 *                  name starts with X (repeatable; bpf_program__set_autoload)
 *   --only NAME    load only the named programs (repeatable)
 *   --no-create M  leave map M out (bpf_map__set_autocreate(false); repeatable)
 *   --pin-root DIR root for LIBBPF_PIN_BY_NAME maps (bpf_object_open_opts);
 *                  maps pinned by this run are unpinned before exit unless
 *                  --keep-pins is given
 *   --keep-pins    leave pinned maps in place
 *   --verbose      libbpf debug output to stderr (also on success)
 *   --run NAME     after loading, run program NAME once with
 *                  BPF_PROG_TEST_RUN (repeatable, in order). Packet programs
 *                  (xdp, tc, ...) get --data (default 64 zero bytes), others
 *                  get --ctx as ctx_in (default none)
 *   --data HEX     packet bytes for --run (hex string)
 *   --ctx HEX      ctx_in bytes for --run (hex string)
 *   --dump         after the runs, print the contents of every ARRAY map
 *                  (global data maps included) and HASH/LRU_HASH map as hex,
 *                  first 64 entries
 *
 * Output, one JSON object per line on stdout:
 *   {"kind":"prog","name":N,"section":S,"type":T,"expected_attach_type":A,
 *    "loaded":true,"tag":"<16 hex>","id":ID,"xlated_insns":K,"insns":I}
 *   {"kind":"prog","name":N,"section":S,...,"loaded":false}   (autoload off)
 *   {"kind":"map","name":N,"type":T,"key_size":K,"value_size":V,
 *    "max_entries":M,"flags":F,"id":ID}
 *   {"kind":"run","name":N,"retval":R,"errno":0|E}                   (--run)
 *   {"kind":"dump","name":N,"values":["<hex value of key 0>",...]}   (--dump, arrays)
 *   {"kind":"dump","name":N,"entries":[["<hex key>","<hex value>"],...]}
 *                                                          (--dump, hashes)
 *   {"kind":"error","stage":"open"|"load","errno":E,"message":S}  (on failure)
 *
 * Exit status: 0 loaded; 1 usage; 2 open failed; 3 load failed.
 * On failure libbpf's log (warnings and the verifier log) is on stderr.
 * The program only ever touches the object it opened itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int verbose;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* Minimal JSON string escaping. */
static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

#define MAX_LIST 64

struct list {
	const char *v[MAX_LIST];
	int n;
};

static int list_add(struct list *l, const char *v)
{
	if (l->n >= MAX_LIST)
		return -1;
	l->v[l->n++] = v;
	return 0;
}

static int parse_hex(const char *hex, unsigned char *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = v;
	}
	*len = n / 2;
	return 0;
}

static void print_hex(const unsigned char *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('"');
}

static int is_packet_prog(enum bpf_prog_type t)
{
	return t == BPF_PROG_TYPE_XDP || t == BPF_PROG_TYPE_SCHED_CLS ||
	       t == BPF_PROG_TYPE_SCHED_ACT || t == BPF_PROG_TYPE_SOCKET_FILTER ||
	       t == BPF_PROG_TYPE_CGROUP_SKB;
}

static void run_prog(struct bpf_object *obj, const char *name,
		     const unsigned char *data, size_t data_len,
		     const unsigned char *ctx, size_t ctx_len)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	unsigned char out[4096];
	int err;

	printf("{\"kind\":\"run\",\"name\":");
	json_str(name);
	if (!prog || bpf_program__fd(prog) < 0) {
		printf(",\"errno\":%d}\n", ENOENT);
		return;
	}
	if (is_packet_prog(bpf_program__type(prog))) {
		opts.data_in = data;
		opts.data_size_in = data_len;
		opts.data_out = out;
		opts.data_size_out = sizeof(out);
		opts.repeat = 1;
	} else if (ctx_len) {
		opts.ctx_in = ctx;
		opts.ctx_size_in = ctx_len;
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	printf(",\"retval\":%u,\"errno\":%d}\n", opts.retval, err ? errno : 0);
}

static void dump_map(struct bpf_map *map)
{
	unsigned char val[65536];
	__u32 n = bpf_map__max_entries(map), vsz = bpf_map__value_size(map);
	int fd = bpf_map__fd(map);

	if (fd < 0 || vsz > sizeof(val))
		return;
	if (bpf_map__type(map) == BPF_MAP_TYPE_HASH || bpf_map__type(map) == BPF_MAP_TYPE_LRU_HASH) {
		unsigned char key[512], next[512];
		__u32 ksz = bpf_map__key_size(map), cnt = 0;
		void *prev = NULL;

		if (ksz > sizeof(key))
			return;
		printf("{\"kind\":\"dump\",\"name\":");
		json_str(bpf_map__name(map));
		printf(",\"entries\":[");
		while (cnt < 64 && !bpf_map_get_next_key(fd, prev, next)) {
			memcpy(key, next, ksz);
			prev = key;
			if (bpf_map_lookup_elem(fd, key, val))
				continue;
			printf("%s[", cnt++ ? "," : "");
			print_hex(key, ksz);
			putchar(',');
			print_hex(val, vsz);
			putchar(']');
		}
		printf("]}\n");
		return;
	}
	if (bpf_map__type(map) != BPF_MAP_TYPE_ARRAY)
		return;
	if (n > 64)
		n = 64;
	printf("{\"kind\":\"dump\",\"name\":");
	json_str(bpf_map__name(map));
	printf(",\"values\":[");
	for (__u32 k = 0; k < n; k++) {
		memset(val, 0, vsz);
		if (k)
			putchar(',');
		if (bpf_map_lookup_elem(fd, &k, val))
			printf("null");
		else
			print_hex(val, vsz);
	}
	printf("]}\n");
}

static int usage(void)
{
	fprintf(stderr, "usage: oracle [--skip NAME|SECPREFIX]... [--only NAME]... [--no-create MAP]... "
			"[--pin-root DIR] [--keep-pins] [--verbose] [--run NAME]... "
			"[--data HEX] [--ctx HEX] [--dump] OBJ.bpf.o\n");
	return 1;
}

int main(int argc, char **argv)
{
	struct list skip = {0}, only = {0}, runs = {0}, no_create = {0};
	static unsigned char data[4096], ctx[4096];
	size_t data_len = 64, ctx_len = 0;
	int dump = 0;
	const char *pin_root = NULL, *path = NULL;
	int keep_pins = 0, err, i;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--skip") && i + 1 < argc) {
			if (list_add(&skip, argv[++i]))
				return usage();
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			if (list_add(&only, argv[++i]))
				return usage();
		} else if (!strcmp(argv[i], "--no-create") && i + 1 < argc) {
			if (list_add(&no_create, argv[++i]))
				return usage();
		} else if (!strcmp(argv[i], "--pin-root") && i + 1 < argc) {
			pin_root = argv[++i];
		} else if (!strcmp(argv[i], "--keep-pins")) {
			keep_pins = 1;
		} else if (!strcmp(argv[i], "--run") && i + 1 < argc) {
			if (list_add(&runs, argv[++i]))
				return usage();
		} else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
			if (parse_hex(argv[++i], data, sizeof(data), &data_len))
				return usage();
		} else if (!strcmp(argv[i], "--ctx") && i + 1 < argc) {
			if (parse_hex(argv[++i], ctx, sizeof(ctx), &ctx_len))
				return usage();
		} else if (!strcmp(argv[i], "--dump")) {
			dump = 1;
		} else if (!strcmp(argv[i], "--verbose")) {
			verbose = 1;
		} else if (argv[i][0] == '-' || path) {
			return usage();
		} else {
			path = argv[i];
		}
	}
	if (!path)
		return usage();

	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	libbpf_set_print(print_fn);

	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	obj = bpf_object__open_file(path, &open_opts);
	if (!obj) {
		err = -errno;
		printf("{\"kind\":\"error\",\"stage\":\"open\",\"errno\":%d,\"message\":", -err);
		json_str(strerror(-err));
		printf("}\n");
		return 2;
	}

	for (i = 0; i < no_create.n; i++) {
		map = bpf_object__find_map_by_name(obj, no_create.v[i]);
		if (map)
			bpf_map__set_autocreate(map, false);
	}

	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);
		const char *sec = bpf_program__section_name(prog);
		int autoload = 1;

		for (int k = 0; k < skip.n; k++)
			if (!strcmp(name, skip.v[k]) ||
			    !strncmp(sec, skip.v[k], strlen(skip.v[k])))
				autoload = 0;
		if (only.n) {
			int found = 0;
			for (int k = 0; k < only.n; k++)
				if (!strcmp(name, only.v[k]))
					found = 1;
			if (!found)
				autoload = 0;
		}
		if (!autoload)
			bpf_program__set_autoload(prog, false);
	}

	err = bpf_object__load(obj);
	if (err) {
		char buf[256];

		libbpf_strerror(err, buf, sizeof(buf));
		printf("{\"kind\":\"error\",\"stage\":\"load\",\"errno\":%d,\"message\":", -err);
		json_str(buf);
		printf("}\n");
		bpf_object__close(obj);
		return 3;
	}

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		printf("{\"kind\":\"prog\",\"name\":");
		json_str(bpf_program__name(prog));
		printf(",\"section\":");
		json_str(bpf_program__section_name(prog));
		printf(",\"type\":%d,\"expected_attach_type\":%d",
		       bpf_program__type(prog), bpf_program__expected_attach_type(prog));
		if (fd < 0 || !bpf_program__autoload(prog)) {
			printf(",\"loaded\":false}\n");
			continue;
		}
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			printf(",\"loaded\":true,\"info_errno\":%d}\n", errno);
			continue;
		}
		printf(",\"loaded\":true,\"tag\":\"");
		for (int k = 0; k < BPF_TAG_SIZE; k++)
			printf("%02x", info.tag[k]);
		printf("\",\"id\":%u,\"xlated_insns\":%u,\"insns\":%zu}\n", info.id,
		       info.xlated_prog_len / 8, bpf_program__insn_cnt(prog));
	}

	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd = bpf_map__fd(map);

		memset(&info, 0, sizeof(info));
		printf("{\"kind\":\"map\",\"name\":");
		json_str(bpf_map__name(map));
		printf(",\"type\":%d,\"key_size\":%u,\"value_size\":%u,\"max_entries\":%u,"
		       "\"flags\":%u",
		       bpf_map__type(map), bpf_map__key_size(map), bpf_map__value_size(map),
		       bpf_map__max_entries(map), bpf_map__map_flags(map));
		if (bpf_map__pin_path(map)) {
			printf(",\"pin_path\":");
			json_str(bpf_map__pin_path(map));
		}
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			printf(",\"id\":%u,\"kernel_name\":\"%s\"", info.id, info.name);
		printf("}\n");
	}

	for (i = 0; i < runs.n; i++)
		run_prog(obj, runs.v[i], data, data_len, ctx, ctx_len);
	if (dump)
		bpf_object__for_each_map(map, obj)
			dump_map(map);

	if (!keep_pins)
		bpf_object__unpin_maps(obj, NULL);
	bpf_object__close(obj);
	return 0;
}
