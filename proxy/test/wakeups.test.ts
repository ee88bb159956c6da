import { randomUUID } from 'node:crypto';
import { testPool } from '../../tests/support/db.js';
import { idemRequest } from '../../tests/support/idemRequest.js';
import type { Pool } from '../src/db/pool.js';
import { Wakeups } from '../src/db/wakeups.js';
import { IdempotencyStore } from '../src/idempotency/store.js';

let pool: Pool;
beforeAll(async () => {
  pool = await testPool(4);
});
afterAll(() => pool.end());

/** Whether `p` settles before `ms`: far shorter than the waits below, so only a wake-up can do it. */
const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

const listening = async (w: Wakeups) => {
  w.listen();
  // LISTEN runs on its own connection: give it a moment to be registered.
  for (let i = 0; i < 50 && !(w as unknown as { listener?: unknown }).listener; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
};

describe('Wakeups', () => {
  it('wakes a waiter of this process at once, and lets an unrelated one sleep', async () => {
    const w = new Wakeups(pool);
    const waiting = w.wait('topic-a', 60_000);
    const other = w.wait('topic-b', 60_000);
    await w.notify('topic-a');
    expect(await settlesWithin(waiting, 2000)).toBe(true);
    expect(await settlesWithin(other, 200)).toBe(false);
    await w.notify('topic-b');
    await w.close();
  });

  const acrossReplicas = process.env.TEST_DATABASE_EMBEDDED ? it.skip : it;

  acrossReplicas('wakes a waiter in another replica through LISTEN/NOTIFY', async () => {
    const here = new Wakeups(pool);
    const there = new Wakeups(pool);
    await listening(there);
    const topic = `flight test ${randomUUID()}`;
    const waiting = there.wait(topic, 60_000);
    await here.notify(topic);
    expect(await settlesWithin(waiting, 5000)).toBe(true);
    await here.close();
    await there.close();
  });

  acrossReplicas('ignores payloads that are not its topics: any database user can NOTIFY (an `error` payload must not throw)', async () => {
    const there = new Wakeups(pool);
    await listening(there);
    const topic = `idem t-${randomUUID()} key:x`;
    const woken = there.wait(topic, 60_000);
    for (const payload of ['error', 'newListener', 'removeListener', 'x error']) await pool.query('SELECT pg_notify($1, $2)', ['tollgate_wake', payload]);
    await pool.query('SELECT pg_notify($1, $2)', ['tollgate_wake', topic]);
    // Still listening after the junk: the real topic arrives.
    expect(await settlesWithin(woken, 5000)).toBe(true);
    await there.close();
  });

  acrossReplicas('an Idempotency-Key waiter in another replica replays as soon as the owner completes', async () => {
    const replicaA = new IdempotencyStore(pool, { wakeups: new Wakeups(pool) });
    const wakeupsB = new Wakeups(pool);
    await listening(wakeupsB);
    const replicaB = new IdempotencyStore(pool, { wakeups: wakeupsB });
    const req = idemRequest();
    const owner = await replicaA.begin(req);
    if (owner.kind !== 'owner') throw new Error('expected owner');
    const waiting = replicaB.acquire(req, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    const stored = { status: 200, headers: {}, contentType: 'application/json', bodyJson: { ok: true }, bodyText: '{"ok":true}' };
    await replicaA.complete(owner.lease, stored, 0.001);
    expect(await waiting).toMatchObject({ kind: 'replay', waited: true, stored: { bodyText: '{"ok":true}' } });
    replicaA.close();
    replicaB.close();
    await wakeupsB.close();
  });
});
