// C baseline for bench/ringbuf.ts: the same hand-assembled BPF producer
// (instructions written by the TS side into a file, map references as
// placeholders: ld_imm64 imm 0 = the ring/perf map, 1 = the counters map),
// consumed with libbpf's ring_buffer / perf_buffer.
//
//   ringbuf_bench drain      <prog> <records> <runs>          ns/record per run
//   ringbuf_bench perf_drain <prog> <records> <runs>          ns/record per run
//   ringbuf_bench stream     <prog> <seconds> <repeat> <ring> records/s, drops
//   ringbuf_bench latency    <prog> <samples> <interval_us>   p50/p99 ns
//   ringbuf_bench produce    <progfd> <seconds> <repeat> <interval_us>
//        (producer loop for the TS side: test_run on an inherited prog fd)
// Output: one line of key=value pairs per result.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "ringbuf_bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int load_prog(const char *path, int map_fd, int counters_fd) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  static struct bpf_insn insns[4096];
  size_t n = fread(insns, sizeof(insns[0]), 4096, f);
  fclose(f);
  for (size_t i = 0; i < n; i++) {
    if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && (insns[i].src_reg == BPF_PSEUDO_MAP_FD || insns[i].src_reg == BPF_PSEUDO_MAP_VALUE)) {
      insns[i].imm = insns[i].imm == 0 ? map_fd : counters_fd;
      i++;
    }
  }
  int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "prod", "GPL", insns, n, NULL);
  if (fd < 0) die("bpf_prog_load");
  return fd;
}

static void test_run(int prog_fd, int repeat) {
  char data[64] = {0};
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = data, .data_size_in = sizeof(data), .repeat = repeat);
  if (bpf_prog_test_run_opts(prog_fd, &o)) die("test_run");
}

static int counters_map(void) {
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ctr", 4, 32, 1, NULL);
  if (fd < 0) die("counters map");
  return fd;
}

static void read_counters(int fd, uint64_t c[4]) {
  uint32_t k = 0;
  bpf_map_lookup_elem(fd, &k, c);
}

static volatile int32_t sink;
static int32_t acc;

static int on_sample(void *ctx, void *data, size_t size) {
  (void)ctx; (void)size;
  acc += *(int32_t *)data;
  return 0;
}

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size) {
  (void)ctx; (void)cpu; (void)size;
  acc += *(int32_t *)data;
}

static uint64_t perf_lost;
static void on_perf_lost(void *ctx, int cpu, __u64 cnt) { (void)ctx; (void)cpu; perf_lost += cnt; }

static int drain(const char *prog, int records, int runs) {
  int ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "rb", 0, 0, 1 << 24, NULL);
  if (ring < 0) die("ringbuf map");
  int ctr = counters_map();
  int pfd = load_prog(prog, ring, ctr);
  struct ring_buffer *rb = ring_buffer__new(ring, on_sample, NULL, NULL);
  if (!rb) die("ring_buffer__new");
  for (int r = 0; r < runs; r++) {
    test_run(pfd, records);
    double t0 = now_ns();
    int n = ring_buffer__consume(rb);
    double dt = now_ns() - t0;
    sink = acc;
    printf("drain ns_per_record=%.3f records=%d\n", dt / n, n);
  }
  ring_buffer__free(rb);
  return 0;
}

static int perf_drain(const char *prog, int records, int runs) {
  int ncpu = libbpf_num_possible_cpus();
  int pmap = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "pb", 4, 4, ncpu, NULL);
  if (pmap < 0) die("perf map");
  int ctr = counters_map();
  int pfd = load_prog(prog, pmap, ctr);
  // one page per 128 records of 32 bytes, rounded up to a power of two
  size_t pages = 1;
  while (pages * 4096 < (size_t)records * 32 + 4096) pages <<= 1;
  struct perf_buffer *pb = perf_buffer__new(pmap, pages, on_perf_sample, on_perf_lost, NULL, NULL);
  if (!pb) die("perf_buffer__new");
  for (int r = 0; r < runs; r++) {
    test_run(pfd, records);
    double t0 = now_ns();
    perf_buffer__consume(pb);
    double dt = now_ns() - t0;
    sink = acc;
    printf("perf_drain ns_per_record=%.3f records=%d lost=%llu\n", dt / records, records, (unsigned long long)perf_lost);
  }
  perf_buffer__free(pb);
  return 0;
}

struct producer {
  int prog_fd, repeat, interval_us;
  double until;
};

static void *produce_loop(void *arg) {
  struct producer *p = arg;
  while (now_ns() < p->until) {
    test_run(p->prog_fd, p->repeat);
    if (p->interval_us > 0) usleep(p->interval_us);
  }
  return NULL;
}

static int produce(int prog_fd, double seconds, int repeat, int interval_us) {
  struct producer p = {prog_fd, repeat, interval_us, now_ns() + seconds * 1e9};
  produce_loop(&p);
  return 0;
}

static uint64_t stream_count;
static int on_stream(void *ctx, void *data, size_t size) {
  (void)ctx; (void)size;
  acc += *(int32_t *)data;
  stream_count++;
  return 0;
}

static int stream(const char *prog, double seconds, int repeat, int ring_size) {
  int ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "rb", 0, 0, ring_size, NULL);
  int ctr = counters_map();
  int pfd = load_prog(prog, ring, ctr);
  struct ring_buffer *rb = ring_buffer__new(ring, on_stream, NULL, NULL);
  struct producer p = {pfd, repeat, 0, now_ns() + seconds * 1e9};
  pthread_t t;
  double t0 = now_ns();
  pthread_create(&t, NULL, produce_loop, &p);
  while (now_ns() < p.until) ring_buffer__poll(rb, 100);
  pthread_join(t, NULL);
  ring_buffer__consume(rb);
  double dt = now_ns() - t0;
  uint64_t c[4];
  read_counters(ctr, c);
  printf("stream records_per_s=%.0f records=%llu submitted=%llu dropped=%llu\n", stream_count / (dt / 1e9),
         (unsigned long long)stream_count, (unsigned long long)c[1], (unsigned long long)c[3]);
  ring_buffer__free(rb);
  return 0;
}

static double *lat;
static int lat_n, lat_max;
static int on_latency(void *ctx, void *data, size_t size) {
  (void)ctx; (void)size;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  uint64_t ts = ((uint64_t *)data)[1];
  if (lat_n < lat_max) lat[lat_n++] = (double)((uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec - ts);
  return 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int latency(const char *prog, int samples, int interval_us) {
  int ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "rb", 0, 0, 1 << 16, NULL);
  int ctr = counters_map();
  int pfd = load_prog(prog, ring, ctr);
  struct ring_buffer *rb = ring_buffer__new(ring, on_latency, NULL, NULL);
  lat_max = samples;
  lat = calloc(samples, sizeof(double));
  struct producer p = {pfd, 1, interval_us, now_ns() + 60e9};
  pthread_t t;
  pthread_create(&t, NULL, produce_loop, &p);
  while (lat_n < samples) ring_buffer__poll(rb, 100);
  p.until = 0;
  pthread_join(t, NULL);
  qsort(lat, lat_n, sizeof(double), cmp);
  printf("latency p50_ns=%.0f p99_ns=%.0f samples=%d\n", lat[lat_n / 2], lat[(int)(lat_n * 0.99)], lat_n);
  ring_buffer__free(rb);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: see the header of ringbuf_bench.c\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *mode = argv[1];
  if (!strcmp(mode, "drain") && argc == 5) return drain(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(mode, "perf_drain") && argc == 5) return perf_drain(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(mode, "stream") && argc == 6) return stream(argv[2], atof(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (!strcmp(mode, "latency") && argc == 5) return latency(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(mode, "produce") && argc == 6) return produce(atoi(argv[2]), atof(argv[3]), atoi(argv[4]), atoi(argv[5]));
  fprintf(stderr, "ringbuf_bench: bad arguments\n");
  return 2;
}
