import { config } from '@grafana/runtime';
import { datasourceProblem } from './App';

describe('App datasource check', () => {
  it('explains a missing or unknown datasource, and accepts a known one', () => {
    config.datasources = { 'Tollgate Postgres': { uid: 'tollgate-postgres' } } as unknown as typeof config.datasources;
    expect(datasourceProblem(undefined)).toMatch(/No PostgreSQL datasource is configured/);
    expect(datasourceProblem('gone')).toMatch(/"gone" does not exist/);
    expect(datasourceProblem('tollgate-postgres')).toBeUndefined();
  });
});
