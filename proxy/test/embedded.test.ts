import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded.js';

describe('the embedded Postgres data folder', () => {
  it('is held by one process: a second opener is refused with the owner named; a dead owner\'s lock is taken over', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-pglite-'));
    // A lock left by a process that no longer runs (pid 2^22 + 1 is above Linux's pid_max).
    writeFileSync(join(dataDir, 'tollgate.lock'), String(4_194_305));
    const first = await startEmbeddedPostgres({ dataDir, port: 0 });
    try {
      expect(readFileSync(join(dataDir, 'tollgate.lock'), 'utf8')).toBe(String(process.pid));
      // Another process holds it: simulated by our parent's pid, which is alive.
      writeFileSync(join(dataDir, 'tollgate.lock'), String(process.ppid));
      await expect(startEmbeddedPostgres({ dataDir, port: 0 })).rejects.toThrow(`is in use by process ${process.ppid}`);
    } finally {
      writeFileSync(join(dataDir, 'tollgate.lock'), String(process.pid));
      await first.stop();
    }
    const again = await startEmbeddedPostgres({ dataDir, port: 0 });
    await again.stop();
  });
});
