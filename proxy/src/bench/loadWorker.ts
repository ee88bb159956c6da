import { runLoad, type LoadResult, type LoadSpec } from './load.js';

/**
 * The load generator's process (main.ts forks it once): receives `{ id, spec }` over IPC, runs one
 * spec at a time and answers `{ id, result }` or `{ id, error }`. It leaves when its parent does.
 */
export type WorkerRequest = { id: number; spec: LoadSpec };
export type WorkerReply = { id: number; result: LoadResult } | { id: number; error: string };

if (!process.send) {
  console.error('loadWorker.js is started by the benchmark (proxy/dist/bench/main.js), not by hand');
  process.exit(2);
}

let queue = Promise.resolve();
process.on('message', (msg: WorkerRequest) => {
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      reply = { id: msg.id, result: await runLoad(msg.spec) };
    } catch (err) {
      reply = { id: msg.id, error: (err as Error).stack ?? String(err) };
    }
    process.send!(reply);
  });
});
process.on('disconnect', () => process.exit(0));
