import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ALL_VALUE, DASHBOARD_PATH, buildDashboard, dashboardJson } from '../../scripts/generate-dashboard.js';
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

  it('is a Grafana 13 dashboard whose filter variables make "All" the custom all value the queries test for', () => {
    const dash = buildDashboard() as { schemaVersion: number; templating: { list: Array<Record<string, unknown>> } };
    expect(dash.schemaVersion).toBe(42);
    const vars = dash.templating.list;
    expect(vars[0]).toMatchObject({ name: 'ds', type: 'datasource', query: 'grafana-postgresql-datasource' });
    for (const v of vars.slice(1)) {
      expect(v).toMatchObject({ type: 'query', multi: true, includeAll: true, allValue: ALL_VALUE });
      expect(v.datasource).toEqual({ type: 'grafana-postgresql-datasource', uid: '${ds}' });
    }
    expect(ALL_VALUE).toBe("'__all'");
    expect(readQuery('stat_calls')).toContain(`(${ALL_VALUE} IN ($endpoint) OR endpoint IN ($endpoint))`);
  });
});
