/**
 * Single flight (request coalescing) across requests and across replicas sharing one Postgres.
 *
 * ```ts
 * const flights = new SingleFlight(pool, deps.instanceId, { waitMs: config.COALESCE_WAIT_MS });
 * const r = await flights.run('response_cache', `${tenant}:${cacheKey}`, {
 *   lookup: async () => (await cache.get(tenant, cacheKey))?.entry,      // result stored by another process
 *   produce: async (flight) => {                                          // the one upstream call
 *     const b = new StreamBroadcaster(); flight.setLive(b);               // streaming: fan out live chunks
 *     ... write upstream chunks into b, b.end(); store in the cache; return the entry
 *   },
 *   onLive: (b) => (b as StreamBroadcaster).pipeTo(res),                  // same-process waiters of a stream
 * });
 * r.role === 'owner' ? log 'miss' : log 'coalesced' (cost 0, cost_saved = owner's cost)
 * ```
 * - The scope + key must include the tenant (isolation).
 * - `produce` must store its result before returning (the in-flight row is deleted after it);
 *   an unstorable result (an error answer) reaches same-process waiters only, other replicas
 *   then make their own attempt.
 * - Throws `CoalesceTimeoutError` after waitMs (COALESCE_WAIT_MS).
 */
export { SingleFlight, CoalesceTimeoutError, type Flight, type FlightFns, type FlightResult } from './singleFlight.js';
