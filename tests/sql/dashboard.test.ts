import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { DASHBOARD_PATH, buildDashboard, dashboardJson } from '../../scripts/generate-dashboard.js';
import { readQuery } from '../../sql/queries.js';

describe('provisioned dashboard', () => {
  it('is exactly what scripts/generate-dashboard.ts generates now (run it after changing a query)', () => {
    expect(readFileSync(DASHBOARD_PATH, 'utf8')).toBe(dashboardJson());
  });

  it("carries the design note's five panels with their query files' text", () => {
    const panels = buildDashboard().panels as Array<{ targets: Array<{ rawSql: string }> }>;
    const sqls = panels.map((p) => p.targets[0]?.rawSql);
    for (const name of ['panel1_daily_cost_by_endpoint', 'panel2_persona_cache_growth', 'panel3_idempotent_requests', 'panel4_model_cost_breakdown', 'panel5_persona_hit_ratio_approx', 'stat_hit_ratio']) {
      expect(sqls).toContain(readQuery(name));
    }
    expect(panels).toHaveLength(9);
  });
});
