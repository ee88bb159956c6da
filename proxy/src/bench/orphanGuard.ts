import { rmSync } from 'node:fs';

/**
 * Preloaded (`node --import`) into every server the benchmark starts: should the benchmark die
 * without stopping them (SIGKILL, a crash), each stops too instead of running on as an orphan that
 * holds a port and, for Tollgate on the embedded Postgres, most of a gigabyte. SIGTERM first, so
 * Tollgate drains and flushes its call log as usual; exit after 30 s if that hangs. The folder in
 * BENCH_ORPHAN_REMOVE_DIR (the embedded Postgres the benchmark made) goes when the process does,
 * as the benchmark would have removed it. One check a second of the parent's pid, nothing else:
 * it costs the measured servers nothing.
 */
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  const dir = process.env['BENCH_ORPHAN_REMOVE_DIR'];
  if (dir) process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  setTimeout(() => process.exit(1), 30_000).unref();
  process.kill(process.pid, 'SIGTERM');
}, 1000);
watch.unref();
