import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A server the benchmark runs as a child process. It is told to listen on a port (0: any free
 * one) and is only trusted once it prints the address it listens on: polling a fixed port would
 * happily measure whatever other server already holds it.
 */
export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** The address from the child's own "listening" line; rejects if it exits or times out first. */
  readonly ready: Promise<URL>;
  /** Settles once the process is gone, with how it ended ("exit code 1", "signal SIGKILL"). */
  readonly exited: Promise<string>;
  /** Set by stopChild, so the exit that follows is not reported as a crash. */
  stopping: boolean;
}

export interface ChildOptions {
  name: string;
  /** Arguments to node: the script and its arguments. */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Matches the line the child prints once it listens; group 1 is its URL. */
  listening: RegExp;
  /** How long the child may take to print that line (the proxy starts Postgres and migrates first). */
  timeoutMs: number;
  /** Called once if the child ends without being asked to (before or after it was ready). */
  onCrash: (err: Error) => void;
}

const TAIL_LINES = 20;

export function startChild(opts: ChildOptions): Child {
  // stderr is the user's terminal (a failed start explains itself there); stdout is read for the
  // address and otherwise drained, so a chatty child never blocks on a full pipe.
  const proc = spawn(process.execPath, opts.args, { env: opts.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const tail: string[] = [];
  let url: URL | undefined;
  let resolveReady!: (u: URL) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<URL>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // A caller that stops waiting on `ready` (another child failed first) must not see it as unhandled.
  ready.catch(() => undefined);

  createInterface({ input: proc.stdout! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (url) return;
    const m = opts.listening.exec(line);
    if (!m?.[1]) return;
    try {
      url = new URL(m[1]);
    } catch {
      return;
    }
    clearTimeout(timer);
    resolveReady(url);
  });

  const timer = setTimeout(() => {
    const err = new Error(`${opts.name} did not report that it was listening within ${opts.timeoutMs / 1000}s${lastOutput(tail)}`);
    rejectReady(err);
  }, opts.timeoutMs);
  timer.unref();

  let resolveExited!: (how: string) => void;
  const child: Child = {
    name: opts.name,
    proc,
    ready,
    stopping: false,
    exited: new Promise((resolve) => (resolveExited = resolve)),
  };
  let crashed = false;
  const crash = (err: Error) => {
    clearTimeout(timer);
    rejectReady(err);
    if (child.stopping || crashed) return;
    crashed = true;
    opts.onCrash(err);
  };
  // 'close' rather than 'exit': stdout is fully read by then, so the tail has the last words.
  proc.once('close', (code, signal) => {
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    resolveExited(how);
    const when = url ? `while the benchmark was running (it listened on ${url.origin})` : 'before it was listening';
    const hint = url ? '' : ' (a port taken by another server stops it: see its error above)';
    crash(new Error(`${opts.name} exited (${how}) ${when}${hint}${lastOutput(tail)}`));
  });
  proc.once('error', (err) => {
    // A process that never started has no 'close' to wait for.
    if (proc.pid === undefined) resolveExited(`not started (${err.message})`);
    crash(new Error(`${opts.name} could not be started: ${err.message}`));
  });
  return child;
}

function lastOutput(tail: string[]): string {
  return tail.length ? `; its last output:\n${tail.map((l) => `  | ${l}`).join('\n')}` : '';
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
export async function stopChild(child: Child, graceMs: number): Promise<void> {
  child.stopping = true;
  if (child.proc.exitCode === null && child.proc.signalCode === null) {
    child.proc.kill('SIGTERM');
  }
  const killer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  try {
    await child.exited;
  } finally {
    clearTimeout(killer);
  }
}
