import { config } from '@grafana/runtime';
import { datasourceProblem, resolveDatasourceUid } from './App';

describe('App datasource check', () => {
  it('explains a missing or unknown datasource, and accepts a known one', () => {
    config.datasources = { 'Tollgate Postgres': { uid: 'tollgate-postgres' } } as unknown as typeof config.datasources;
    expect(datasourceProblem(undefined)).toMatch(/No PostgreSQL datasource is configured/);
    expect(datasourceProblem('gone')).toMatch(/"gone" does not exist/);
    expect(datasourceProblem('tollgate-postgres')).toBeUndefined();
  });
});

describe('App datasource choice', () => {
  it("uses the app's jsonData, else the provisioned uid, else the only PostgreSQL datasource", () => {
    const pg = (uid: string) => ({ uid, type: 'grafana-postgresql-datasource' });
    config.datasources = { A: pg('tollgate-postgres'), B: pg('other') } as unknown as typeof config.datasources;
    expect(resolveDatasourceUid('chosen')).toBe('chosen');
    expect(resolveDatasourceUid(undefined)).toBe('tollgate-postgres');
    config.datasources = { B: pg('other'), P: { uid: 'prom', type: 'prometheus' } } as unknown as typeof config.datasources;
    expect(resolveDatasourceUid(undefined)).toBe('other');
    config.datasources = { B: pg('other'), C: pg('third') } as unknown as typeof config.datasources;
    expect(resolveDatasourceUid(undefined)).toBeUndefined();
    expect(datasourceProblem(resolveDatasourceUid(undefined))).toMatch(/No PostgreSQL datasource is configured/);
  });
});
