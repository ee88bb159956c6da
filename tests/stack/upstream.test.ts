import type { Pool } from '../../proxy/src/db/pool.js';
import { GRAFANA_ROLE, syncGrafanaRolePassword } from '../../proxy/src/demo/grafanaRole.js';
import { chooseUpstream, OPENAI_BASE_URL } from '../../proxy/src/demo/upstream.js';
import { testPool } from '../support/db.js';

describe('the compose proxy command', () => {
  it('uses the fake upstream without a key, the real API with one, and an explicit URL over both', () => {
    const mock = 'http://mock:8090/v1';
    expect(chooseUpstream({ MOCK_UPSTREAM_URL: mock, OPENAI_API_KEY: '', UPSTREAM_BASE_URL: '' })).toEqual({ url: mock, kind: 'mock' });
    expect(chooseUpstream({ MOCK_UPSTREAM_URL: mock, OPENAI_API_KEY: 'sk-x', UPSTREAM_BASE_URL: ' ' })).toEqual({ url: OPENAI_BASE_URL, kind: 'openai' });
    expect(chooseUpstream({ MOCK_UPSTREAM_URL: mock, OPENAI_API_KEY: 'sk-x', UPSTREAM_BASE_URL: 'https://llm.internal/v1' })).toEqual({
      url: 'https://llm.internal/v1',
      kind: 'configured',
    });
    expect(() => chooseUpstream({})).toThrow(/OPENAI_API_KEY/);
  });

  describe("Grafana role's password", () => {
    let pool: Pool;
    beforeAll(async () => {
      pool = await testPool(2);
    });
    afterAll(async () => {
      await pool.end();
    });

    it('is set on the migrated role (here to the migration default, as the stack does out of the box)', async () => {
      // Roles are cluster-wide: only the value the migration itself sets is safe on a shared server.
      await expect(syncGrafanaRolePassword(pool, "tollgate_grafana")).resolves.toBe(true);
      const { rows } = await pool.query('SELECT rolname FROM pg_roles WHERE rolname = $1', [GRAFANA_ROLE]);
      expect(rows).toHaveLength(1);
    });
  });
});
