// C baseline for bench/ringbuf.ts: libbpf 1.1 (Debian's libbpf-dev) loads the
// SAME object as the TS side, bpf/ringbuf_bench.bpf.o (bpf_object__open_file,
// bpf_object__load), attaches the same producer program and consumes with
// libbpf's ring_buffer / perf_buffer.
//
//   ringbuf_bench drain      <obj> <records> <runs>   ns/record per run (rb_produce, ring 16 MiB)
//   ringbuf_bench perf_drain <obj> <records> <runs>   ns/record per run (pb_produce)
//   ringbuf_bench stream     <obj> <seconds> <records_per_trigger> <ring_bytes>
//        records/s and drops while a `produce` child calls getpgid in a loop
//   ringbuf_bench drain      <obj> <records> <runs> <rec_size> <discard_every>
//        the same with rb_produce's rec_size (16, 256, 0 = mixed) and discards
//   ringbuf_bench latency    <obj> <samples> <interval_us> [nice]
//        rb_produce_ts, a `produce` child triggering every interval: p50/p99 ns;
//        with `nice`, the consumer (not the producer) runs at that nice value
//   ringbuf_bench drain_decode <event_obj> <records> <runs> num|comm
//        ns/record per run draining bootstrap's struct event (bpf/event_bench.bpf.o,
//        ev_produce, ring 32 MiB); the callback reads pid, ppid, exit_code,
//        duration_ns and exit_event (num), and also the length of comm (comm)
//   ringbuf_bench produce    <seconds> <interval_us>
//        the producer process used by BOTH sides: waits for one byte on stdin,
//        then calls getpgid(0) in a loop (sleeping interval_us between calls
//        when > 0) for `seconds` or until stdin is closed; prints its call count.
// drain/perf_drain trigger the producer themselves (one getpgid = one burst of
// `records` from bpf_loop); the BPF programs filter on target_pid.
// Output: one line of key=value pairs per result.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdbool.h>
#include "../../bpf/bootstrap.h"

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "ringbuf_bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void trigger(void) { syscall(SYS_getpgid, 0); }

// ---------------------------------------------------------------- the object

/** Offset of global `name` in data section `sec`, from the object's BTF DATASEC. */
static int var_offset(struct bpf_object *obj, const char *sec, const char *name) {
  struct btf *btf = bpf_object__btf(obj);
  int id = btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC);
  if (id < 0) die(sec);
  const struct btf_type *t = btf__type_by_id(btf, id);
  const struct btf_var_secinfo *v = btf_var_secinfos(t);
  for (int i = 0; i < btf_vlen(t); i++, v++)
    if (!strcmp(btf__name_by_offset(btf, btf__type_by_id(btf, v->type)->name_off), name)) return v->offset;
  errno = ENOENT;
  die(name);
  return -1;
}

static struct bpf_map *find_map(struct bpf_object *obj, const char *suffix) {
  // internal maps are named "<obj prefix>.<sec>" ("ringbuf.rodata"): match the suffix
  struct bpf_map *m;
  bpf_object__for_each_map(m, obj) {
    const char *n = bpf_map__name(m);
    size_t ln = strlen(n), ls = strlen(suffix);
    if (ln >= ls && !strcmp(n + ln - ls, suffix)) return m;
  }
  errno = ENOENT;
  die(suffix);
  return NULL;
}

/** Before load: set a 32-bit global in .rodata or .data. */
static void set_initial_u32(struct bpf_object *obj, const char *sec, const char *name, uint32_t value) {
  size_t sz;
  char *data = (char *)bpf_map__initial_value(find_map(obj, sec), &sz);
  memcpy(data + var_offset(obj, sec, name), &value, 4);
}

/** After load: read a u64 of .bss from the kernel. */
static uint64_t read_bss_u64(struct bpf_object *obj, const char *name) {
  struct bpf_map *m = find_map(obj, ".bss");
  static char buf[4096];
  uint32_t k = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(m), &k, buf)) die("reading .bss");
  uint64_t v;
  memcpy(&v, buf + var_offset(obj, ".bss", name), 8);
  return v;
}

/** rb_produce's record size (.data rec_size: 16, 256, 0 = mixed), set by drain. */
static uint32_t g_rec_size = 16;

/** Open the object, size rb, set target_pid and nr_records, load only `prog`, attach it. */
static struct bpf_object *setup(const char *path, const char *prog, int pid, uint32_t nr_records, uint32_t rb_size, struct bpf_link **link) {
  struct bpf_object *obj = bpf_object__open_file(path, NULL);
  if (!obj) die("bpf_object__open_file");
  struct bpf_program *p;
  bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), prog));
  if (rb_size && bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "rb"), rb_size)) die("set_max_entries");
  set_initial_u32(obj, ".rodata", "target_pid", pid);
  set_initial_u32(obj, ".data", "nr_records", nr_records);
  if (g_rec_size != 16) set_initial_u32(obj, ".data", "rec_size", g_rec_size); // (16 is the default; other objects have no rec_size)
  if (bpf_object__load(obj)) die("bpf_object__load");
  *link = bpf_program__attach(bpf_object__find_program_by_name(obj, prog));
  if (!*link) die("attach");
  return obj;
}

/** After load: write a u32 of .bss through the kernel (read-modify-write of the one-entry array). */
static void write_bss_u32(struct bpf_object *obj, const char *name, uint32_t value) {
  struct bpf_map *m = find_map(obj, ".bss");
  static char buf[4096];
  uint32_t k = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(m), &k, buf)) die("reading .bss");
  memcpy(buf + var_offset(obj, ".bss", name), &value, 4);
  if (bpf_map_update_elem(bpf_map__fd(m), &k, buf, 0)) die("writing .bss");
}

static void teardown(struct bpf_object *obj, struct bpf_link *link) {
  bpf_link__destroy(link);
  bpf_object__close(obj);
}

// ---------------------------------------------------------------- consumers

static volatile int32_t sink;
static int32_t acc;
static uint64_t count;

static int on_sample(void *ctx, void *data, size_t size) {
  (void)ctx; (void)size;
  acc += *(int32_t *)data;
  count++;
  return 0;
}

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size) {
  (void)ctx; (void)cpu; (void)size;
  acc += *(int32_t *)data;
  count++;
}

static uint64_t perf_lost;
static void on_perf_lost(void *ctx, int cpu, __u64 cnt) { (void)ctx; (void)cpu; perf_lost += cnt; }

static int drain(const char *path, int records, int runs, uint32_t rec_size, uint32_t discard_every) {
  struct bpf_link *link;
  g_rec_size = rec_size;
  struct bpf_object *obj = setup(path, "rb_produce", getpid(), records, 1 << 24, &link);
  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "rb")), on_sample, NULL, NULL);
  if (!rb) die("ring_buffer__new");
  if (discard_every) write_bss_u32(obj, "discard_every", discard_every);
  for (int r = 0; r < runs; r++) {
    uint64_t before = read_bss_u64(obj, "submitted");
    trigger();
    int expected = (int)(read_bss_u64(obj, "submitted") - before);
    double t0 = now_ns();
    int n = ring_buffer__consume(rb);
    double dt = now_ns() - t0;
    sink = acc;
    if (n != expected || read_bss_u64(obj, "dropped")) { fprintf(stderr, "drain: %d records, expected %d (dropped %llu)\n", n, expected, (unsigned long long)read_bss_u64(obj, "dropped")); return 1; }
    printf("drain ns_per_record=%.3f records=%d\n", dt / n, n);
  }
  ring_buffer__free(rb);
  teardown(obj, link);
  return 0;
}

// bootstrap's record: the fields a consumer of it reads (what the TS view and decoder read)
static int on_event_num(void *ctx, void *data, size_t size) {
  const struct event *e = data;
  (void)ctx; (void)size;
  acc += e->pid + e->ppid + (int32_t)e->exit_code + (int32_t)e->duration_ns + e->exit_event;
  count++;
  return 0;
}

static int on_event_comm(void *ctx, void *data, size_t size) {
  const struct event *e = data;
  (void)ctx; (void)size;
  acc += e->pid + e->ppid + (int32_t)e->exit_code + (int32_t)e->duration_ns + e->exit_event + (int32_t)strnlen(e->comm, sizeof(e->comm));
  count++;
  return 0;
}

static int drain_decode(const char *path, int records, int runs, const char *fields) {
  struct bpf_link *link;
  struct bpf_object *obj = setup(path, "ev_produce", getpid(), records, 1 << 25, &link);
  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "rb")), strcmp(fields, "comm") ? on_event_num : on_event_comm, NULL, NULL);
  if (!rb) die("ring_buffer__new");
  for (int r = 0; r < runs; r++) {
    trigger();
    double t0 = now_ns();
    int n = ring_buffer__consume(rb);
    double dt = now_ns() - t0;
    sink = acc;
    if (n != records) { fprintf(stderr, "drain_decode: %d records, expected %d\n", n, records); return 1; }
    printf("drain_decode ns_per_record=%.3f records=%d\n", dt / n, n);
  }
  ring_buffer__free(rb);
  teardown(obj, link);
  return 0;
}

static int perf_drain(const char *path, int records, int runs) {
  struct bpf_link *link;
  struct bpf_object *obj = setup(path, "pb_produce", getpid(), records, 0, &link);
  size_t pages = 1; // a 16-byte sample takes 32 bytes of ring
  while (pages * 4096 < (size_t)records * 32 + 4096) pages <<= 1;
  struct perf_buffer *pb = perf_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "pb")), pages, on_perf_sample, on_perf_lost, NULL, NULL);
  if (!pb) die("perf_buffer__new");
  for (int r = 0; r < runs; r++) {
    count = 0;
    trigger();
    double t0 = now_ns();
    perf_buffer__consume(pb);
    double dt = now_ns() - t0;
    sink = acc;
    if (count != (uint64_t)records) { fprintf(stderr, "perf_drain: %llu records, expected %d (lost %llu)\n", (unsigned long long)count, records, (unsigned long long)perf_lost); return 1; }
    printf("perf_drain ns_per_record=%.3f records=%d lost=%llu\n", dt / records, records, (unsigned long long)perf_lost);
  }
  perf_buffer__free(pb);
  teardown(obj, link);
  return 0;
}

// ---------------------------------------------------------------- the producer process

static int produce(double seconds, int interval_us) {
  char go;
  if (read(0, &go, 1) != 1) return 0; // closed before the start: nothing to do
  fcntl(0, F_SETFL, O_NONBLOCK);
  double until = now_ns() + seconds * 1e9;
  uint64_t calls = 0;
  struct timespec pause = {0, (long)interval_us * 1000};
  while (now_ns() < until) {
    trigger();
    calls++;
    if (interval_us > 0) {
      nanosleep(&pause, NULL);
      if (read(0, &go, 1) == 0) break; // stdin closed: stop
    }
  }
  printf("produce calls=%llu\n", (unsigned long long)calls);
  return 0;
}

/** Start `self produce <seconds> <interval_us>` waiting on a pipe; returns its pid, *go = the pipe's write end. */
static pid_t spawn_producer(const char *self, double seconds, int interval_us, int *go) {
  int p[2];
  if (pipe(p)) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    dup2(p[0], 0);
    close(p[0]);
    close(p[1]);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    char s[32], i[32];
    snprintf(s, sizeof(s), "%g", seconds);
    snprintf(i, sizeof(i), "%d", interval_us);
    execl(self, self, "produce", s, i, (char *)NULL);
    _exit(127);
  }
  close(p[0]);
  *go = p[1];
  return pid;
}

static int stream(const char *self, const char *path, double seconds, int per_trigger, int ring_bytes) {
  int go;
  pid_t child = spawn_producer(self, seconds, 0, &go);
  struct bpf_link *link;
  struct bpf_object *obj = setup(path, "rb_produce", child, per_trigger, ring_bytes, &link);
  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "rb")), on_sample, NULL, NULL);
  if (!rb) die("ring_buffer__new");
  count = 0;
  double t0 = now_ns();
  if (write(go, "g", 1) != 1) die("starting the producer");
  int status;
  while (waitpid(child, &status, WNOHANG) == 0) ring_buffer__poll(rb, 100);
  ring_buffer__consume(rb);
  double dt = now_ns() - t0;
  printf("stream records_per_s=%.0f records=%llu submitted=%llu dropped=%llu\n", count / (dt / 1e9), (unsigned long long)count,
         (unsigned long long)read_bss_u64(obj, "submitted"), (unsigned long long)read_bss_u64(obj, "dropped"));
  close(go);
  ring_buffer__free(rb);
  teardown(obj, link);
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

static int latency(const char *self, const char *path, int samples, int interval_us, int nice) {
  int go;
  pid_t child = spawn_producer(self, 120, interval_us, &go);
  if (nice && setpriority(PRIO_PROCESS, 0, nice)) die("setpriority");
  struct bpf_link *link;
  struct bpf_object *obj = setup(path, "rb_produce_ts", child, 1, 0, &link);
  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "rb_ts")), on_latency, NULL, NULL);
  if (!rb) die("ring_buffer__new");
  lat_max = samples;
  lat = calloc(samples, sizeof(double));
  if (write(go, "g", 1) != 1) die("starting the producer");
  while (lat_n < samples) ring_buffer__poll(rb, 100);
  close(go); // the producer stops
  waitpid(child, NULL, 0);
  qsort(lat, lat_n, sizeof(double), cmp);
  printf("latency p50_ns=%.0f p99_ns=%.0f samples=%d\n", lat[lat_n / 2], lat[(int)(lat_n * 0.99)], lat_n);
  ring_buffer__free(rb);
  teardown(obj, link);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: see the header of ringbuf_bench.c\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  libbpf_set_print(NULL);
  const char *mode = argv[1];
  if (!strcmp(mode, "drain") && argc == 5) return drain(argv[2], atoi(argv[3]), atoi(argv[4]), 16, 0);
  if (!strcmp(mode, "drain") && argc == 7) return drain(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
  if (!strcmp(mode, "drain_decode") && argc == 6) return drain_decode(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
  if (!strcmp(mode, "perf_drain") && argc == 5) return perf_drain(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(mode, "stream") && argc == 6) return stream("/proc/self/exe", argv[2], atof(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (!strcmp(mode, "latency") && (argc == 5 || argc == 6)) return latency("/proc/self/exe", argv[2], atoi(argv[3]), atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 0);
  if (!strcmp(mode, "produce") && argc == 4) return produce(atof(argv[2]), atoi(argv[3]));
  fprintf(stderr, "ringbuf_bench: bad arguments\n");
  return 2;
}
