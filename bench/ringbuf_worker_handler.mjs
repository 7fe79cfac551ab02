// The record handler of bench/ringbuf.ts's latency_worker runs: loaded by
// RingBufferWorker (dist/) inside its worker thread. Each record is a
// struct ts_rec { u64 seq; u64 ts = bpf_ktime_get_ns() }; the latency is the
// CLOCK_MONOTONIC time of the call minus ts. Posts 'done' once `samples`
// are in; onClose returns the p50 and p99.
export function latency({ data, post }) {
  const lat = new Float64Array(data.samples);
  let k = 0;
  return {
    onRecord(v, off) {
      const now = process.hrtime.bigint();
      if (k < lat.length) lat[k++] = Number(now - v.getBigUint64(off + 8, true));
      if (k === lat.length) {
        k++;
        post('done');
      }
    },
    onClose() {
      lat.sort();
      return { p50: lat[lat.length >> 1], p99: lat[Math.floor(lat.length * 0.99)] };
    },
  };
}
