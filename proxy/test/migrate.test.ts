import { migrate } from '../src/db/migrate.js';
import { testPool } from '../../tests/support/db.js';

describe('migrations', () => {
  it('are recorded once and re-running them applies nothing', async () => {
    const pool = await testPool(2);
    try {
      const again = await migrate(pool);
      expect(again.applied).toEqual([]);
      expect(again.skipped).toContain('001_call_log.sql');
      const { rows } = await pool.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'openai_call_log'`,
      );
      const types = Object.fromEntries(rows.map((r) => [r.column_name, r.data_type]));
      expect(types).toMatchObject({
        id: 'uuid',
        endpoint: 'text',
        model: 'text',
        tokens_prompt: 'integer',
        tokens_completion: 'integer',
        cost_usd: 'numeric',
        created_at: 'timestamp with time zone',
      });
    } finally {
      await pool.end();
    }
  });
});
