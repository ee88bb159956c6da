import { rowColumns, rowJson, type CallLogRow } from '../src/log/callLog.js';

const row: CallLogRow = {
  endpoint: 'chat.completions', model: 'gpt-4o-mini', tokensPrompt: 12, tokensCompletion: 9, costUsd: 0.0000072,
  createdAt: new Date('2026-12-02T08:00:00Z'), requestId: 'req-1', upstreamRequestId: 'up-1', tenant: 't_abc', method: 'POST',
  path: '/v1/chat/completions', statusCode: 200, stream: true, cacheStatus: 'miss', tokensCached: 3, tokensReasoning: 4,
  costSavedUsd: 0, latencyMs: 5, ttfbMs: 2, upstreamMs: 4, usageSource: 'reported', clientAborted: false, errorType: 'x',
  appUser: 'alice', tags: ['team:a'],
};

describe('rowJson', () => {
  it('serialises every column of the INSERT, each from its own field', () => {
    expect(JSON.parse(rowJson(row))).toEqual(JSON.parse(JSON.stringify(rowColumns(row))));
    // Every value is distinct where it can be, so a field wired to the wrong column shows.
    expect(Object.keys(JSON.parse(rowJson(row)))).toEqual(Object.keys(rowColumns(row)));
  });

  it('writes absent attribution as null', () => {
    const { appUser: _u, tags: _t, ...bare } = row;
    expect(JSON.parse(rowJson(bare))).toMatchObject({ app_user: null, tags: null });
  });
});
