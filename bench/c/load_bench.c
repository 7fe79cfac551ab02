// bench/c/load_bench.c: C libbpf side of bench/load.ts.
// Open and load one BPF object (CO-RE relocation against the running kernel's
// BTF included), timed inside the process; prints {"total_ms": ..., "programs": N}.
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	int programs = 0, err;
	double t0, t1;

	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJECT\n", argv[0]);
		return 2;
	}
	libbpf_set_print(quiet);
	t0 = now_ms();
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s failed\n", argv[1]);
		return 1;
	}
	err = bpf_object__load(obj);
	t1 = now_ms();
	if (err) {
		fprintf(stderr, "load %s failed: %d\n", argv[1], err);
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
		programs += bpf_program__fd(prog) >= 0;
	printf("{\"total_ms\": %.3f, \"programs\": %d}\n", t1 - t0, programs);
	bpf_object__close(obj);
	return 0;
}
