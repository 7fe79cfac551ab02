// bench/c/load_bench.c: C libbpf side of bench/load.ts.
// Open and load one BPF object (CO-RE relocation against the running kernel's
// BTF included), timed inside the process; prints {"total_ms": ..., "programs": N}.
// With --second after the path, it then closes the object and does it all again
// (libbpf parses the kernel's BTF again, as it does for every object) and adds
// "second_ms". Separate runs, so that the whole-process time stays one load.
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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

/* Open and load `path`; returns the object (NULL after printing why), its time in *ms. */
static struct bpf_object *open_and_load(const char *path, double *ms)
{
	struct bpf_object *obj;
	double t0 = now_ms();
	int err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "open %s failed\n", path);
		return NULL;
	}
	err = bpf_object__load(obj);
	*ms = now_ms() - t0;
	if (err) {
		fprintf(stderr, "load %s failed: %d\n", path, err);
		bpf_object__close(obj);
		return NULL;
	}
	return obj;
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	double first, second = 0;
	int programs = 0, again = argc > 2 && !strcmp(argv[2], "--second");

	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJECT\n", argv[0]);
		return 2;
	}
	libbpf_set_print(quiet);
	obj = open_and_load(argv[1], &first);
	if (!obj)
		return 1;
	bpf_object__for_each_program(prog, obj)
		programs += bpf_program__fd(prog) >= 0;
	bpf_object__close(obj);
	if (again) {
		obj = open_and_load(argv[1], &second);
		if (!obj)
			return 1;
		bpf_object__close(obj);
	}
	printf("{\"total_ms\": %.3f, \"second_ms\": %.3f, \"programs\": %d}\n", first, second, programs);
	return 0;
}
