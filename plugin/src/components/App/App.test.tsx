import React from 'react';
import { cleanup, render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { config } from '@grafana/runtime';
import { AppRoutes, datasourceProblem, resolveDatasourceUid } from './App';

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

describe('App routes', () => {
  // Grafana mounts an app at `/a/<id>/*`; the app's routes are relative to it.
  function at(path: string) {
    render(
      <MemoryRouter initialEntries={[path]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <Routes>
          <Route
            path="/a/tollgate-llm-app/*"
            element={
              <AppRoutes>
                <Where />
              </AppRoutes>
            }
          />
        </Routes>
      </MemoryRouter>
    );
    return screen.getByTestId('where').textContent;
  }

  it('sends the bare app URL, with or without a trailing slash, to the Overview with its query string', () => {
    expect(at('/a/tollgate-llm-app')).toBe('/a/tollgate-llm-app/overview');
    cleanup();
    expect(at('/a/tollgate-llm-app/?from=now-7d&var-model=gpt-4o')).toBe('/a/tollgate-llm-app/overview?from=now-7d&var-model=gpt-4o');
  });

  it('leaves every page route to the scenes', () => {
    expect(at('/a/tollgate-llm-app/costs/endpoint/embeddings')).toBe('/a/tollgate-llm-app/costs/endpoint/embeddings');
  });
});

function Where() {
  const { pathname, search } = useLocation();
  return <span data-testid="where">{pathname + search}</span>;
}
