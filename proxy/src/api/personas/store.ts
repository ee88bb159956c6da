import type { Pool } from '../../db/pool.js';
import { z } from 'zod';
import { personaSchema, type Persona } from './schema.js';

const storedPersonas = z.array(personaSchema);

export interface CachedPersonas {
  personas: Persona[];
  model: string;
  /** What generating them cost (a hit's cost_saved_usd); null for an unpriced model. */
  costUsd: number | null;
  ageSeconds: number;
}

/** persona_cache: one generation per (tenant, input_hash), until expires_at (PERSONA_CACHE_TTL_SECONDS). */
export class PersonaCache {
  constructor(private readonly pool: Pool) {}

  /** The live entry; `countHit` bumps hit_count / last_hit_at in the same statement. */
  async get(tenant: string, inputHash: string, countHit: boolean): Promise<CachedPersonas | undefined> {
    const cols = `personas_json, model, cost_usd, GREATEST(0, floor(extract(epoch FROM now() - created_at)))::int AS age_seconds`;
    const { rows } = await this.pool.query<{ personas_json: Persona[]; model: string; cost_usd: number | null; age_seconds: number }>(
      countHit
        ? `UPDATE persona_cache SET hit_count = hit_count + 1, last_hit_at = now()
            WHERE tenant = $1 AND input_hash = $2 AND expires_at > now() RETURNING ${cols}`
        : `SELECT ${cols} FROM persona_cache WHERE tenant = $1 AND input_hash = $2 AND expires_at > now()`,
      [tenant, inputHash],
    );
    const row = rows[0];
    if (!row) return undefined;
    // jsonb reorders members; parsing restores the schema's order, so a hit reads as the miss did.
    // An entry that no longer fits the schema is a miss (and is replaced).
    const personas = storedPersonas.safeParse(row.personas_json);
    return personas.success ? { personas: personas.data, model: row.model, costUsd: row.cost_usd, ageSeconds: row.age_seconds } : undefined;
  }

  /** Stores a fresh generation, replacing an expired (or superseded) one. */
  async put(tenant: string, inputHash: string, model: string, personas: Persona[], costUsd: number | null, ttlSeconds: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO persona_cache (tenant, input_hash, personas_json, model, cost_usd, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
       ON CONFLICT (tenant, input_hash) DO UPDATE SET personas_json = EXCLUDED.personas_json, model = EXCLUDED.model,
         cost_usd = EXCLUDED.cost_usd, created_at = now(), expires_at = EXCLUDED.expires_at, hit_count = 0, last_hit_at = NULL`,
      [tenant, inputHash, JSON.stringify(personas), model, costUsd, ttlSeconds],
    );
  }
}
