import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type pg from 'pg';
import { readQuery } from '../../sql/queries.js';
import { testPool } from '../support/db.js';

// provisioning/alerting: Grafana's file-provisioned alert rules. Their SQL is the sql/queries file
// of the same name (so the SQL tests run it too); here: the rule shape Grafana 13 reads, and what
// each query returns on rows that should and should not fire, as the read-only role.
const ROOT = new URL('../../', import.meta.url);
const file = parse(readFileSync(new URL('provisioning/alerting/tollgate-alerts.yaml', ROOT), 'utf8')) as {
  apiVersion: number;
  groups: Array<{ orgId: number; name: string; folder: string; interval: string; rules: Rule[] }>;
};
interface Rule {
  uid: string;
  title: string;
  condition: string;
  noDataState: string;
  data: Array<{ refId: string; datasourceUid: string; model: { rawSql?: string; type?: string; expression?: string; conditions?: Array<{ evaluator: { type: string; params: number[] } }> } }>;
}
const rules = file.groups.flatMap((g) => g.rules);
const rule = (uid: string) => rules.find((r) => r.uid === uid)!;
const sqlOf = (uid: string) => rule(uid).data[0]!.model.rawSql!;
const threshold = (uid: string) => rule(uid).data[2]!.model.conditions![0]!.evaluator;

describe('provisioned alert rules', () => {
  it('are three rules on the provisioned datasource: query, last value, threshold', () => {
    expect(file.apiVersion).toBe(1);
    expect(rules.map((r) => r.uid)).toEqual(['tollgate-daily-spend', 'tollgate-hit-ratio-drop', 'tollgate-upstream-errors']);
    for (const r of rules) {
      expect(r.condition).toBe('C');
      expect(r.noDataState).toBe('OK');
      expect(r.data.map((d) => [d.refId, d.datasourceUid])).toEqual([['A', 'tollgate-postgres'], ['B', '__expr__'], ['C', '__expr__']]);
      expect(r.data[1]!.model).toMatchObject({ type: 'reduce', expression: 'A' });
      expect(r.data[2]!.model).toMatchObject({ type: 'threshold', expression: 'B' });
    }
    expect(threshold('tollgate-daily-spend')).toEqual({ type: 'gt', params: [50] });
    expect(threshold('tollgate-hit-ratio-drop')).toEqual({ type: 'lt', params: [0.5] });
    expect(threshold('tollgate-upstream-errors')).toEqual({ type: 'gt', params: [0.05] });
  });

  it('run exactly the sql/queries files of the same name', () => {
    expect(sqlOf('tollgate-daily-spend')).toBe(readQuery('alert_daily_spend'));
    expect(sqlOf('tollgate-hit-ratio-drop')).toBe(readQuery('alert_hit_ratio_drop'));
    expect(sqlOf('tollgate-upstream-errors')).toBe(readQuery('alert_upstream_errors'));
  });

  it('hold no dollar sign, which Grafana would expand as an environment variable', () => {
    expect(readFileSync(new URL('provisioning/alerting/tollgate-alerts.yaml', ROOT), 'utf8')).not.toContain('$');
  });
});

describe('alert queries on Postgres', () => {
  let pool: pg.Pool;
  let client: pg.PoolClient;
  beforeAll(async () => {
    pool = await testPool(2);
    client = await pool.connect();
  });
  afterAll(async () => {
    client.release();
    await pool.end();
  });

  /**
   * Runs `sql` as Grafana's role on a temporary copy of the call log holding only `rows`, with
   * temporary copies of the rollups its triggers feed (the rules read call_log_facts: the rows' deltas,
   * not folded, and the raw rows of the partial hours).
   */
  async function run(uid: string, rows: string): Promise<Array<Record<string, number>>> {
    const derived = ['call_log_pending', 'call_log_hourly', 'call_log_daily', 'call_log_latency_pending'];
    await client.query('BEGIN');
    try {
      await client.query(`CREATE TEMP TABLE openai_call_log (LIKE public.openai_call_log INCLUDING DEFAULTS) ON COMMIT DROP`);
      for (const t of derived) await client.query(`CREATE TEMP TABLE ${t} (LIKE public.${t} INCLUDING ALL) ON COMMIT DROP`);
      const triggers = await client.query<{ def: string }>(
        `SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = 'public.openai_call_log'::regclass AND NOT tgisinternal`,
      );
      for (const t of triggers.rows) await client.query(t.def.replace(' ON public.openai_call_log ', ' ON pg_temp.openai_call_log '));
      await client.query(`INSERT INTO pg_temp.openai_call_log (endpoint, model, cost_usd, created_at, request_id, tenant, status_code, cache_status, client_aborted) ${rows}`);
      await client.query(`GRANT SELECT ON pg_temp.openai_call_log, ${derived.map((t) => `pg_temp.${t}`).join(', ')} TO tollgate_grafana`);
      await client.query('SET LOCAL ROLE tollgate_grafana');
      // pg_temp first: the copy shadows the real log for this transaction only.
      await client.query('SET LOCAL search_path TO pg_temp, public');
      return (await client.query(sqlOf(uid))).rows as Array<Record<string, number>>;
    } finally {
      await client.query('ROLLBACK');
    }
  }
  const calls = (n: number, cost: string, age: string, status: string, cache: string) =>
    `SELECT 'chat.completions', 'gpt-4o-mini', ${cost}, now() - ${age}, 'alert-' || g, 't_a', ${status}, ${cache}, false FROM generate_series(1, ${n}) g`;

  it("daily spend sums today's UTC day only", async () => {
    const rows = await run('tollgate-daily-spend', `${calls(3, '20', "interval '1 second'", '200', "'miss'")} UNION ALL ${calls(5, '100', "interval '2 days'", '200', "'miss'")}`);
    expect(rows).toEqual([{ spend_today_usd: 60 }]);
  });

  it('hit ratio share: the last hour against the day before; no row when the hour is quiet', async () => {
    // Day before: half hits. Last hour: 60 calls, 12 hits (a fifth): 0.4 of the day's ratio.
    const day = `${calls(50, '0', "interval '5 hours'", '200', "'hit'")} UNION ALL ${calls(50, '1', "interval '6 hours'", '200', "'miss'")}`;
    const hour = `${calls(12, '0', "interval '10 minutes'", '200', "'hit'")} UNION ALL ${calls(48, '1', "interval '10 minutes'", '200', "'miss'")}`;
    const [r] = await run('tollgate-hit-ratio-drop', `${day} UNION ALL ${hour}`);
    expect(r!.hit_ratio_vs_day).toBeCloseTo(0.4, 6);
    expect(await run('tollgate-hit-ratio-drop', `${day} UNION ALL ${calls(10, '1', "interval '1 minute'", '200', "'miss'")}`)).toEqual([]);
  });

  it('upstream error rate counts 5xx and 429 of calls that went upstream, not cache hits', async () => {
    const rows = `${calls(16, '1', "interval '1 minute'", '200', "'miss'")} UNION ALL ${calls(3, '0', "interval '1 minute'", '502', "'miss'")}
      UNION ALL ${calls(1, '0', "interval '1 minute'", '429', "'bypass'")} UNION ALL ${calls(30, '0', "interval '1 minute'", '200', "'hit'")}
      UNION ALL ${calls(40, '0', "interval '1 hour'", '500', "'miss'")}`;
    expect(await run('tollgate-upstream-errors', rows)).toEqual([{ upstream_error_rate: 0.2 }]);
    expect(await run('tollgate-upstream-errors', calls(5, '0', "interval '1 minute'", '500', "'miss'"))).toEqual([]);
  });
});
