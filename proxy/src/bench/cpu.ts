import { readFileSync } from 'node:fs';
import type pg from 'pg';

/** Linux's USER_HZ: /proc counts CPU time in hundredths of a second on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where unreadable (not Linux, another host). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count from its closing parenthesis. utime and
    // stime are fields 14 and 15, the 12th and 13th after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  process: number | undefined;
  /** Per Postgres backend pid of the target (by application_name). */
  backends: Map<number, number>;
}

/** CPU per request, in µs, over one phase: the target's own process and its Postgres backends. */
export interface CpuPerRequest {
  process?: number;
  postgres?: number;
}

/**
 * Samples the CPU a target spends around a measured phase: what its process used, and what the
 * Postgres backends of its connections used (found by application_name, read from /proc: a local
 * server only). Postgres' own background work (WAL writer, autovacuum) is no one's and not counted;
 * a backend that closes during a phase takes its share with it.
 */
export class CpuMeter {
  constructor(private readonly db: pg.Pool | undefined) {}

  async sample(pid: number | undefined, applicationName: string | undefined): Promise<CpuSample> {
    const backends = new Map<number, number>();
    if (this.db && applicationName) {
      const { rows } = await this.db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      for (const { pid: b } of rows) {
        const s = cpuSeconds(b);
        if (s !== undefined) backends.set(b, s);
      }
    }
    return { process: pid === undefined ? undefined : cpuSeconds(pid), backends };
  }

  static perRequest(before: CpuSample, after: CpuSample, requests: number): CpuPerRequest {
    const us = (seconds: number) => (seconds * 1e6) / requests;
    const out: CpuPerRequest = {};
    if (before.process !== undefined && after.process !== undefined && requests > 0) out.process = us(after.process - before.process);
    if (after.backends.size && requests > 0) {
      let used = 0;
      // A backend opened during the phase spent all of its time in it.
      for (const [pid, s] of after.backends) used += s - (before.backends.get(pid) ?? 0);
      out.postgres = us(used);
    }
    return out;
  }
}
