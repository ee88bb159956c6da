import { tenantOf } from '../tenant.js';

/**
 * The demo's callers. The traffic generator sends these keys and the backfill writes their
 * hashes, so live traffic and history land on the same tenant series in Grafana. The keys only
 * ever reach the fake upstream.
 */
export const DEMO_TENANTS = [
  { name: 'acme', key: 'sk-demo-acme', weight: 0.45 },
  { name: 'globex', key: 'sk-demo-globex', weight: 0.25 },
  { name: 'initech', key: 'sk-demo-initech', weight: 0.2 },
  { name: 'umbrella', key: 'sk-demo-umbrella', weight: 0.1 },
] as const;

export function demoTenantIds(): Array<{ name: string; tenant: string; weight: number }> {
  return DEMO_TENANTS.map((t) => ({ name: t.name, tenant: tenantOf(t.key), weight: t.weight }));
}
