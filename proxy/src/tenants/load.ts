import { z } from 'zod';
import type { Pool } from '../db/pool.js';

/**
 * Tenant names and monthly budgets (table tenant_names, migration 020) from a provisioning file:
 * the file is the whole truth, so a load replaces every row (a tenant removed from the file loses
 * its name). One transaction: a bad file changes nothing.
 */
export const TenantNamesFile = z.object({
  tenants: z.array(
    z.object({
      /** As the call log shows it: `t_<hash>`, `anonymous` or `external`. */
      tenant: z.string().min(1).max(200),
      name: z.string().trim().min(1).max(200),
      monthlyBudgetUsd: z.number().nonnegative().finite().optional(),
    }),
  ),
});
export type TenantNames = z.infer<typeof TenantNamesFile>;

export async function loadTenantNames(pool: Pool, file: unknown): Promise<number> {
  const parsed = TenantNamesFile.safeParse(file);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const rows = parsed.data.tenants.map((t) => ({ tenant: t.tenant, display_name: t.name, monthly_budget_usd: t.monthlyBudgetUsd ?? null }));
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('DELETE FROM tenant_names');
    await client.query(
      `INSERT INTO tenant_names (tenant, display_name, monthly_budget_usd)
       SELECT tenant, display_name, monthly_budget_usd FROM json_populate_recordset(NULL::tenant_names, $1::json)`,
      [JSON.stringify(rows)],
    );
    await client.query('COMMIT');
    return rows.length;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}
