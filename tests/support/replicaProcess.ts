import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Replica {
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  child: ChildProcess;
  /** SIGTERM, and wait until it has flushed its call log and exited. */
  stop(): Promise<void>;
}

/**
 * Compiles tests/support/replica.ts (and the app it imports) to plain JS under .tollgate/ with tsc
 * — type errors elsewhere in the tree do not stop the emit — and returns the entry file.
 * Inside the repository so node_modules resolve.
 */
export function buildReplica(): string {
  const out = join(ROOT, '.tollgate', `replica-${process.pid}-${Date.now()}`);
  mkdirSync(out, { recursive: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [
      tsc,
      '--outDir', out,
      '--rootDir', ROOT,
      '--module', 'NodeNext',
      '--moduleResolution', 'NodeNext',
      '--target', 'ES2022',
      '--skipLibCheck',
      '--resolveJsonModule',
      '--esModuleInterop',
      '--types', 'node',
      join(ROOT, 'tests', 'support', 'replica.ts'),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const entry = join(out, 'tests', 'support', 'replica.js');
  if (!existsSync(entry)) throw new Error(`could not compile the replica: ${r.stdout}\n${r.stderr}`);
  const prices = join(out, 'proxy', 'src', 'pricing', 'prices.json');
  mkdirSync(dirname(prices), { recursive: true });
  copyFileSync(join(ROOT, 'proxy', 'src', 'pricing', 'prices.json'), prices);
  // ESM: the compiled files need a package.json saying so.
  copyFileSync(join(ROOT, 'package.json'), join(out, 'package.json'));
  return entry;
}

/** Deletes what buildReplica compiled. */
export function removeReplicaBuild(entry: string): void {
  rmSync(join(dirname(entry), '..', '..'), { recursive: true, force: true });
}

/** Starts a second proxy process on this run's database, pointed at `upstreamUrl`. */
export async function spawnReplica(entry: string, env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`replica did not start: ${stderr}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited (${code}): ${stderr}`));
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
