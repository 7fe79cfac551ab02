// The C libbpf side of bench/maps.ts: the same map operations through
// libbpf's low-level API (bpf_map_create, bpf_map_lookup_elem, ...).
//
// usage: maps_bench <array_lookup|hash_lookup|hash_update|hash_batch_lookup> <iterations>
// prints: <CPU nanoseconds per operation (per entry for the batch lookup)>
//
// Time is this process's CPU time (CLOCK_PROCESS_CPUTIME_ID), as on the
// TypeScript side (process.cpuUsage): on a shared, loaded machine, wall time
// mostly measures the other tenants.
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_ENTRIES 256
#define HASH_ENTRIES 100000

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int create_map(enum bpf_map_type type, uint32_t max_entries)
{
	int fd = bpf_map_create(type, "bench", sizeof(uint32_t), sizeof(uint64_t), max_entries, NULL);
	if (fd < 0) {
		fprintf(stderr, "bpf_map_create: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

static void fill_hash(int fd)
{
	for (uint32_t key = 0; key < HASH_ENTRIES; key++) {
		uint64_t value = key;
		if (bpf_map_update_elem(fd, &key, &value, BPF_ANY)) {
			fprintf(stderr, "bpf_map_update_elem: %s\n", strerror(errno));
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s <bench> <iterations>\n", argv[0]);
		return 2;
	}
	const char *bench = argv[1];
	long iterations = atol(argv[2]);
	uint64_t value = 0, start, elapsed;
	double per_op;

	if (strcmp(bench, "array_lookup") == 0) {
		int fd = create_map(BPF_MAP_TYPE_ARRAY, ARRAY_ENTRIES);
		start = cpu_ns();
		for (long i = 0; i < iterations; i++) {
			uint32_t key = i % ARRAY_ENTRIES;
			if (bpf_map_lookup_elem(fd, &key, &value))
				return 1;
		}
		per_op = (double)(cpu_ns() - start) / iterations;
	} else if (strcmp(bench, "hash_lookup") == 0) {
		int fd = create_map(BPF_MAP_TYPE_HASH, HASH_ENTRIES);
		fill_hash(fd);
		start = cpu_ns();
		for (long i = 0; i < iterations; i++) {
			uint32_t key = i % HASH_ENTRIES;
			if (bpf_map_lookup_elem(fd, &key, &value))
				return 1;
		}
		per_op = (double)(cpu_ns() - start) / iterations;
	} else if (strcmp(bench, "hash_update") == 0) {
		int fd = create_map(BPF_MAP_TYPE_HASH, HASH_ENTRIES);
		fill_hash(fd);
		start = cpu_ns();
		for (long i = 0; i < iterations; i++) {
			uint32_t key = i % HASH_ENTRIES;
			value = i;
			if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
				return 1;
		}
		per_op = (double)(cpu_ns() - start) / iterations;
	} else if (strcmp(bench, "hash_batch_lookup") == 0) {
		/* Read the whole map with bpf_map_lookup_batch, `iterations` times. */
		int fd = create_map(BPF_MAP_TYPE_HASH, HASH_ENTRIES);
		fill_hash(fd);
		uint32_t *keys = malloc(HASH_ENTRIES * sizeof(uint32_t));
		uint64_t *values = malloc(HASH_ENTRIES * sizeof(uint64_t));
		uint64_t entries = 0;
		const uint32_t chunk = 1024;
		start = cpu_ns();
		for (long i = 0; i < iterations; i++) {
			uint32_t in_batch = 0, out_batch = 0, got = 0;
			void *in = NULL;
			for (;;) {
				uint32_t count = chunk;
				if (got + count > HASH_ENTRIES)
					count = HASH_ENTRIES - got;
				if (count == 0)
					count = 1;
				int err = bpf_map_lookup_batch(fd, in, &out_batch, keys + got, values + got, &count, NULL);
				if (err && errno != ENOENT) {
					fprintf(stderr, "bpf_map_lookup_batch: %s\n", strerror(errno));
					return 1;
				}
				got += count;
				if (err)
					break;
				in_batch = out_batch;
				in = &in_batch;
			}
			entries += got;
		}
		elapsed = cpu_ns() - start;
		per_op = (double)elapsed / entries;
	} else {
		fprintf(stderr, "unknown bench %s\n", bench);
		return 2;
	}
	printf("%.2f\n", per_op);
	return 0;
}
