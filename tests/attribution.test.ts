import { readFileSync } from 'node:fs';
import http from 'node:http';
import OpenAI from 'openai';
import { loadTenantNames } from '../proxy/src/tenants/load.js';
import { loggedRows, startStack, type Stack } from './support/stack.js';

// Attribution inside a tenant (issue 11): X-Tollgate-User / X-Tollgate-Tags, else the body's
// `user` / `metadata`, land on the call's row; tenant names and budgets load from a file.
let stack: Stack;
let client: OpenAI;
beforeAll(async () => {
  stack = await startStack({ OPENAI_API_KEY: 'sk-attribution' });
  client = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-attribution-tenant', maxRetries: 0 });
});
afterAll(() => stack.close());

async function rowOf(requestId: string | null) {
  const [row] = await loggedRows(stack, 'request_id = $1', [requestId]);
  return row!;
}

const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('call attribution', () => {
  it('stores the headers: user, and tags trimmed, unique and sorted', async () => {
    const { response } = await client.chat.completions
      .create(ask, { headers: { 'X-Tollgate-User': ' alice@example.com ', 'X-Tollgate-Tags': 'team:growth, feature:summary,team:growth,' } })
      .withResponse();
    const row = await rowOf(response.headers.get('x-tollgate-request-id'));
    expect(row.app_user).toBe('alice@example.com');
    expect(row.tags).toEqual(['feature:summary', 'team:growth']);
  });

  it("falls back to the body's user and metadata; headers win over them", async () => {
    const body = { ...ask, user: 'bob', metadata: { team: 'support', ticket: '42' } };
    const { response: fromBody } = await client.chat.completions.create(body).withResponse();
    const a = await rowOf(fromBody.headers.get('x-tollgate-request-id'));
    expect(a.app_user).toBe('bob');
    expect(a.tags).toEqual(['team:support', 'ticket:42']);
    const { response: fromHeader } = await client.chat.completions
      .create(body, { headers: { 'X-Tollgate-User': 'carol', 'X-Tollgate-Tags': 'batch' } })
      .withResponse();
    const b = await rowOf(fromHeader.headers.get('x-tollgate-request-id'));
    expect([b.app_user, b.tags]).toEqual(['carol', ['batch']]);
  });

  it('stores NULL without attribution and bounds what a caller can send', async () => {
    const { response: plain } = await client.chat.completions.create(ask).withResponse();
    const a = await rowOf(plain.headers.get('x-tollgate-request-id'));
    expect([a.app_user, a.tags]).toEqual([null, null]);
    const many = Array.from({ length: 50 }, (_, i) => `t${String(i).padStart(2, '0')}`).join(',');
    const { response: big } = await client.chat.completions
      .create(ask, { headers: { 'X-Tollgate-User': 'u'.repeat(5000), 'X-Tollgate-Tags': many } })
      .withResponse();
    const b = await rowOf(big.headers.get('x-tollgate-request-id'));
    expect((b.app_user as string).length).toBe(200);
    expect((b.tags as string[]).length).toBe(20);
  });
});

describe('attribution headers as sent on the wire', () => {
  /** A raw HTTP request (node:http sends a string header as Latin-1 bytes, arrays as repeated lines). */
  function post(headers: Record<string, string | string[]>): Promise<string> {
    const url = new URL(`${stack.proxyUrl}/chat/completions`);
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-attribution-tenant', ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers['x-tollgate-request-id'] as string));
      });
      req.on('error', reject);
      // A Buffer: with a string body Node writes the head in the body's encoding (UTF-8), not Latin-1.
      req.end(Buffer.from(JSON.stringify(ask)));
    });
  }
  const utf8OnTheWire = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

  it('reads UTF-8 header values as UTF-8 (Node decodes header bytes as Latin-1), and Latin-1 ones as sent', async () => {
    const a = await rowOf(await post({ 'x-tollgate-user': utf8OnTheWire('用户名 café'), 'x-tollgate-tags': utf8OnTheWire('équipe:données,🚀') }));
    expect([a.app_user, a.tags]).toEqual(['用户名 café', ['équipe:données', '🚀']]);
    // A lone byte 0xE9 is no UTF-8: it stays the Latin-1 é it was sent as.
    const b = await rowOf(await post({ 'x-tollgate-user': 'caf\u00e9' }));
    expect(b.app_user).toBe('café');
  });

  it('takes the first of repeated X-Tollgate-User headers; repeated X-Tollgate-Tags add up', async () => {
    const row = await rowOf(await post({ 'x-tollgate-user': ['first', 'second'], 'x-tollgate-tags': ['a,b', 'c'] }));
    expect([row.app_user, row.tags]).toEqual(['first', ['a', 'b', 'c']]);
  });
});

describe('tenant names', () => {
  it('loads names and budgets from a file, replacing what the last load wrote', async () => {
    await loadTenantNames(stack.pool, { tenants: [{ tenant: 't_attr_a', name: 'Acme', monthlyBudgetUsd: 100 }, { tenant: 't_attr_b', name: 'Beta' }] });
    await loadTenantNames(stack.pool, { tenants: [{ tenant: 't_attr_a', name: 'Acme Corp', monthlyBudgetUsd: 250.5 }] });
    const { rows } = await stack.pool.query(`SELECT tenant, display_name, monthly_budget_usd::float AS budget FROM tenant_names WHERE tenant LIKE 't_attr_%'`);
    expect(rows).toEqual([{ tenant: 't_attr_a', display_name: 'Acme Corp', budget: 250.5 }]);
  });

  it("loads the example file, the demo stack's tenants", async () => {
    const example = JSON.parse(readFileSync(new URL('../provisioning/tenants/tenant-names.example.json', import.meta.url), 'utf8')) as unknown;
    await expect(loadTenantNames(stack.pool, example)).resolves.toBe(6);
    await loadTenantNames(stack.pool, { tenants: [{ tenant: 't_attr_a', name: 'Acme Corp', monthlyBudgetUsd: 250.5 }] });
  });

  it('refuses a malformed file with the offending entry named, changing nothing', async () => {
    await expect(loadTenantNames(stack.pool, { tenants: [{ tenant: 't_attr_c', name: '' }] })).rejects.toThrow(/tenants\.0\.name/);
    await expect(loadTenantNames(stack.pool, { tenants: [{ tenant: 't_attr_c', name: 'C', monthlyBudgetUsd: -1 }] })).rejects.toThrow(/monthlyBudgetUsd/);
    const { rows } = await stack.pool.query(`SELECT tenant FROM tenant_names WHERE tenant LIKE 't_attr_%'`);
    expect(rows).toEqual([{ tenant: 't_attr_a' }]);
  });
});
