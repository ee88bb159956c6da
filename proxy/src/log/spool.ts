import { appendFileSync, close as closeFd, fdatasync, fsync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * The call log's local write-ahead spool: every row the writer is given is appended (one JSON line)
 * to a segment file in this process's own folder under SPOOL_DIR, shipped to Postgres in batches,
 * and acknowledged. A segment is deleted once it is closed and every row in it is in the database;
 * what a crashed process left behind is replayed on the next start (ON CONFLICT DO NOTHING on
 * request_id, so a row already written is not doubled).
 *
 * Rows recorded in one turn of the event loop are written together at its end (one write() to the
 * page cache, a few microseconds, so under load one write carries many rows), and the callers'
 * held last bytes (call/lastByte.ts) go after it: a caller never has an answer whose row is only in
 * memory. fsync runs on its own interval (SPOOL_FSYNC_MS). A process crash loses nothing that was
 * written (the page cache survives it); a machine crash loses at most the last fsync interval.
 *
 * Each process owns one folder, named by host, pid and a random suffix, with an `owner` file it
 * touches every few seconds. A folder whose owner is gone (same host, pid not running; or not
 * touched for OWNER_STALE_MS; or no owner file) is adopted: its segments are moved into this
 * process's folder and replayed. So replicas on one machine keep their own spools, and a replica
 * that restarts (or any other) replays what a crashed one left.
 */

/**
 * A segment's rows go to a new file past this size (or a quarter of SPOOL_MAX_BYTES, if smaller),
 * so acknowledged rows leave the disk long before the spool is full.
 */
const SEGMENT_BYTES = 1024 * 1024;
const REJECTED_FILE = 'rejected.ndjson';
const OWNER_FILE = 'owner';
const OWNER_TOUCH_MS = 5_000;
const OWNER_STALE_MS = 60_000;
const SEGMENT_RE = /^seg-(\d+)\.ndjson$/;

/** Folders this process holds: a second spool in the same process (tests) must not adopt them. */
const heldHere = new Set<string>();

export class Segment {
  /** Rows appended to this segment. */
  lines = 0;
  /** Rows whose insert succeeded. */
  acked = 0;
  /** Rows kept only on disk (the in-memory queue was full): the segment is replayed from its file. */
  diskOnly = 0;
  /** Bytes appended (or found on disk). */
  bytes = 0;
  /** No more appends, its file closed: it may be read and deleted. */
  closed = false;
  /** Found on disk at start (or adopted): replayed from the file as a whole. */
  leftover: boolean;
  constructor(
    readonly path: string,
    readonly fd: number | undefined,
    leftover: boolean,
  ) {
    this.leftover = leftover;
  }

  get needsReplay(): boolean {
    return this.leftover || this.diskOnly > 0;
  }
}

export interface SpoolOptions {
  /** Root folder shared by every process on this machine (SPOOL_DIR). */
  root: string;
  /** Most bytes the spool may hold (SPOOL_MAX_BYTES); past it rows are refused and counted. */
  maxBytes: number;
  /** How often appended rows are fsynced (SPOOL_FSYNC_MS). */
  fsyncMs: number;
}

export interface SpoolEvents {
  /** Rows refused (the spool is full, or the disk failed a write). */
  refused?(rows: number, why: string): void;
  /** Segments of a crashed process were adopted after start (they wait to be replayed). */
  adopted?(): void;
  /** Lines of a segment that are not whole rows (a machine crash cut the write): set aside in `file`. */
  torn?(lines: number, file: string): void;
}

export class Spool {
  readonly dir: string;
  private readonly segments: Segment[] = [];
  private current!: Segment;
  private seq = 0;
  private pending: string[] = [];
  /** Called once the pending rows are written. */
  private onWritten: Array<() => void> = [];
  private scheduled = false;
  private dirty = false;
  private bytes = 0;
  private readonly fsyncTimer: NodeJS.Timeout;
  private readonly ownerTimer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;
  private lastAdoptScan = 0;
  private readonly segmentBytes: number;

  constructor(
    private readonly opts: SpoolOptions,
    private readonly events: SpoolEvents = {},
  ) {
    this.segmentBytes = Math.min(SEGMENT_BYTES, Math.floor(opts.maxBytes / 4));
    mkdirSync(opts.root, { recursive: true });
    this.dir = join(opts.root, `${safe(hostname())}-${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(this.dir);
    heldHere.add(this.dir);
    writeFileSync(join(this.dir, OWNER_FILE), JSON.stringify({ host: hostname(), pid: process.pid }));
    this.adoptOrphans();
    this.current = this.openSegment();
    this.fsyncTimer = setInterval(() => this.sync(), opts.fsyncMs);
    this.fsyncTimer.unref();
    this.ownerTimer = setInterval(() => this.touchOwner(), OWNER_TOUCH_MS);
    this.ownerTimer.unref();
  }

  /** Bytes the spool holds on disk (written or waiting to be). */
  get sizeBytes(): number {
    return this.bytes;
  }

  /** Segments to replay from their files: left by a crashed process, or holding rows not queued in memory. */
  replayable(): Segment[] {
    return this.segments.filter((s) => s.closed && s.needsReplay);
  }

  /**
   * Appends one row (a JSON line without its newline); returns its segment, or undefined when it
   * was refused (full). The write happens at the end of this turn of the event loop, joined with
   * the rows recorded meanwhile; `written` runs after it (also when the disk refused it).
   */
  append(line: string, written?: () => void): Segment | undefined {
    if (this.closing) return undefined;
    const size = Buffer.byteLength(line) + 1;
    if (this.bytes + size > this.opts.maxBytes) {
      this.events.refused?.(1, 'full');
      return undefined;
    }
    if (this.current.bytes >= this.segmentBytes) this.rotate();
    const seg = this.current;
    seg.lines++;
    seg.bytes += size;
    this.bytes += size;
    this.pending.push(line);
    if (written) this.onWritten.push(written);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.writePending());
    }
    return seg;
  }

  /** `n` rows of `seg` are in the database. */
  ack(seg: Segment, n: number): void {
    seg.acked += n;
    this.release(seg);
  }

  /** Closes the current segment when it holds disk-only rows, so it can be replayed from its file. */
  closeCurrentIfReplayable(): void {
    if (this.current.needsReplay && !this.closing) this.rotate();
  }

  /** The rows of a closed segment's file; a torn last line (machine crash mid-write) is skipped. */
  readSegment(seg: Segment): string[] {
    let text: string;
    try {
      text = readFileSync(seg.path, 'utf8');
    } catch {
      return [];
    }
    const rows: string[] = [];
    const torn: string[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        JSON.parse(line);
        rows.push(line);
      } catch {
        // A line cut short by a machine crash: the rest of the file is still good. Kept for a person
        // to look at, like a row the database refuses, not silently lost.
        torn.push(line);
      }
    }
    if (torn.length) this.events.torn?.(torn.length, this.reject(torn));
    return rows;
  }

  /** Rows the database refused for their data: kept, never replayed, for someone to look at. Returns the file. */
  reject(lines: string[]): string {
    const path = join(this.opts.root, REJECTED_FILE);
    try {
      appendFileSync(path, lines.join('\n') + '\n', { mode: 0o600 });
    } catch {
      // The disk refused it too: the log line and the counter remain.
    }
    return path;
  }

  /** A segment replayed from its file is done with. */
  replayed(seg: Segment): void {
    seg.acked = seg.lines;
    seg.diskOnly = 0;
    seg.leftover = false;
    this.release(seg);
  }

  /** Writes what is pending, fsyncs and closes; removes the folder if nothing is left to ship. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.fsyncTimer);
      clearInterval(this.ownerTimer);
      this.writePending();
      await this.closeSegment(this.current);
      for (const seg of [...this.segments]) this.release(seg);
      heldHere.delete(this.dir);
      // Rows still waiting stay, with no owner file: the next process to start adopts them.
      rmQuiet(join(this.dir, OWNER_FILE));
      try {
        rmdirSync(this.dir);
      } catch {
        // Not empty: kept for the next start.
      }
    })();
    return this.closing;
  }

  private openSegment(): Segment {
    const path = join(this.dir, `seg-${String(++this.seq).padStart(8, '0')}.ndjson`);
    const segment = new Segment(path, openSync(path, 'a'), false);
    this.segments.push(segment);
    return segment;
  }

  /** The next appends go to a new segment; the old one is closed once its writes are done. */
  private rotate(): void {
    const old = this.current;
    this.current = this.openSegment();
    // Rows not yet written belong to the old segment: written to its file now.
    this.writePending(old);
    void this.closeSegment(old);
  }

  /** fsync and close a segment's file (every write to it is done: they are synchronous); then it may go. */
  private closeSegment(seg: Segment): Promise<void> {
    return new Promise((resolve) =>
      fsync(seg.fd!, () =>
        closeFd(seg.fd!, () => {
          seg.closed = true;
          this.release(seg);
          resolve();
        }),
      ),
    );
  }

  /**
   * Writes the pending rows to `seg`'s file, then lets their callers' last bytes go. Synchronous on
   * purpose: an append to the page cache costs less than handing it to a thread and back, and the
   * answers waiting on it go out in the same turn of the event loop.
   */
  private writePending(seg: Segment = this.current): void {
    this.scheduled = false;
    const lines = this.pending;
    const written = this.onWritten;
    this.pending = [];
    this.onWritten = [];
    if (lines.length) {
      const data = Buffer.from(lines.join('\n') + '\n', 'utf8');
      try {
        writeAll(seg.fd!, data);
        this.dirty = true;
      } catch (err) {
        this.failedWrite(seg, lines.length, data.length, err as Error);
      }
    }
    for (const w of written) w();
  }

  /** The disk refused a write (full, I/O error): those rows exist only in memory now. */
  private failedWrite(seg: Segment, n: number, bytes: number, err: Error): void {
    seg.lines -= n;
    seg.bytes -= bytes;
    this.bytes -= bytes;
    this.events.refused?.(n, (err as NodeJS.ErrnoException).code ?? err.message);
    this.release(seg);
  }

  private sync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    fdatasync(this.current.fd!, () => undefined);
  }

  private touchOwner(): void {
    const now = new Date();
    try {
      utimesSync(join(this.dir, OWNER_FILE), now, now);
    } catch {
      // The folder is gone (removed by hand): rows keep shipping from memory.
    }
    if (Date.now() - this.lastAdoptScan >= OWNER_STALE_MS) this.adoptOrphans();
  }

  /** Deletes a closed segment whose rows are all in the database. */
  private release(seg: Segment): void {
    if (!seg.closed || seg.needsReplay || seg.acked < seg.lines) return;
    const at = this.segments.indexOf(seg);
    if (at < 0) return;
    this.segments.splice(at, 1);
    this.bytes -= seg.bytes;
    rmQuiet(seg.path);
  }

  /** Moves the segments of every folder whose owner is gone into ours, to be replayed (at start, then every minute). */
  adoptOrphans(): void {
    this.lastAdoptScan = Date.now();
    let moved = 0;
    let names: string[];
    try {
      names = readdirSync(this.opts.root);
    } catch {
      return;
    }
    for (const name of names) {
      const dir = join(this.opts.root, name);
      if (heldHere.has(dir) || !isOrphan(dir)) continue;
      let files: string[];
      try {
        files = readdirSync(dir).filter((f) => SEGMENT_RE.test(f)).sort();
      } catch {
        continue;
      }
      for (const f of files) {
        const to = join(this.dir, `seg-${String(++this.seq).padStart(8, '0')}.ndjson`);
        try {
          // Atomic: when two processes adopt the same folder, each segment goes to one of them.
          renameSync(join(dir, f), to);
        } catch {
          continue;
        }
        const seg = new Segment(to, undefined, true);
        seg.bytes = sizeOf(to);
        seg.closed = true;
        this.bytes += seg.bytes;
        this.segments.push(seg);
        moved++;
      }
      rmQuiet(join(dir, OWNER_FILE));
      try {
        rmdirSync(dir);
      } catch {
        // Something else in it (not ours to delete), or already gone.
      }
    }
    if (moved) this.events.adopted?.();
  }
}

/** Whether a spool folder's owner is gone: no owner file, a dead pid on this host, or no touch for a minute. */
function isOrphan(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
  } catch {
    return false;
  }
  let owner: { host?: string; pid?: number };
  let touched: number;
  try {
    const path = join(dir, OWNER_FILE);
    owner = JSON.parse(readFileSync(path, 'utf8')) as { host?: string; pid?: number };
    touched = statSync(path).mtimeMs;
  } catch {
    return true;
  }
  if (owner.host === hostname() && typeof owner.pid === 'number') {
    // Our own pid in another folder: an earlier process with this pid (a container restarted as pid 1).
    if (owner.pid === process.pid) return true;
    if (!alive(owner.pid)) return true;
    return false;
  }
  return Date.now() - touched > OWNER_STALE_MS;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A process killed with -9 stays a zombie until its parent reaps it (a shell that started it in
  // the background, a container's PID 1 without an init): it answers signal 0 but is gone.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (err) {
    // Reaped meanwhile (gone), or no /proc to ask (not Linux): then signal 0 has the last word.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** write() may take less than it was given (a disk filling up): the rest follows, or the error. */
function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off);
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function rmQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) || 'host';
}
