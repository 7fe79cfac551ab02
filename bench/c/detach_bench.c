// C libbpf baseline for bench/detach.ts: load bpf/attach.bpf.o (only its
// tp_getpgid program), attach it to N syscall tracepoints, then time
// bpf_link__destroy of every link (one after another, as libbpf's
// bpf_object__detach_skeleton does) plus bpf_object__close.
// usage: detach_bench <attach.bpf.o> <nlinks> <reps>; prints one median in ms.
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *tps[] = { "sys_enter_getpgid", "sys_enter_getppid", "sys_enter_getpid", "sys_enter_gettid",
			     "sys_enter_getuid",  "sys_enter_geteuid", "sys_enter_getgid", "sys_enter_getegid",
			     "sys_enter_getsid",  "sys_enter_getpgrp" };

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s <attach.bpf.o> <nlinks> <reps>\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[2]), reps = atoi(argv[3]);
	if (n < 1 || n > 10 || reps < 1)
		return 2;
	double *t = calloc(reps, sizeof(double));
	libbpf_set_print(NULL);
	for (int r = 0; r < reps; r++) {
		struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
		if (!obj) {
			perror("open");
			return 1;
		}
		struct bpf_program *p, *tp = NULL;
		bpf_object__for_each_program(p, obj)
		{
			int mine = strcmp(bpf_program__name(p), "tp_getpgid") == 0;
			bpf_program__set_autoload(p, mine);
			if (mine)
				tp = p;
		}
		if (!tp || bpf_object__load(obj)) {
			fprintf(stderr, "load failed\n");
			return 1;
		}
		struct bpf_link *links[10];
		for (int i = 0; i < n; i++) {
			links[i] = bpf_program__attach_tracepoint(tp, "syscalls", tps[i]);
			if (!links[i]) {
				perror("attach");
				return 1;
			}
		}
		double t0 = now_ms();
		for (int i = 0; i < n; i++)
			bpf_link__destroy(links[i]);
		bpf_object__close(obj);
		t[r] = now_ms() - t0;
	}
	qsort(t, reps, sizeof(double), cmp);
	printf("%.3f\n", reps % 2 ? t[reps / 2] : (t[reps / 2 - 1] + t[reps / 2]) / 2);
	return 0;
}
