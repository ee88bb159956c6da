import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ALL_VALUE, DASHBOARD_PATH, buildDashboard, dashboardJson } from '../../scripts/generate-dashboard.js';
import { readQuery } from '../../sql/queries.js';

describe('provisioned dashboard', () => {
  it('is exactly what scripts/generate-dashboard.ts generates now (run it after changing a query)', () => {
    expect(readFileSync(DASHBOARD_PATH, 'utf8')).toBe(dashboardJson());
  });

  it("carries the design note's five panels, on the fast filtered queries, with their files' text", () => {
    const panels = buildDashboard().panels as Array<{ targets: Array<{ rawSql: string }> }>;
    const sqls = panels.map((p) => p.targets[0]?.rawSql);
    for (const name of ['costs_daily_by_endpoint', 'persona_cache_daily', 'stored_responses_daily', 'cost_by_model', 'persona_hit_ratio', 'stat_hit_ratio']) {
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
    expect(readQuery('stat_calls')).toContain('ARRAY[$endpoint], ARRAY[$model], ARRAY[$tenant]');
    expect(readQuery('costs_calls')).toContain(`(${ALL_VALUE} IN ($tenant) OR tenant IN ($tenant))`);
  });
});
