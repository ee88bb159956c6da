import React, { type ReactNode, useMemo } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { SceneApp, useSceneApp } from '@grafana/scenes';
import type { AppRootProps } from '@grafana/data';
import { config } from '@grafana/runtime';
import { Alert } from '@grafana/ui';
import { type AppJsonData, POSTGRES_TYPE, PROVISIONED_DATASOURCE_UID, ROUTES } from '../../constants';
import { appPages } from '../../pages';
import { PluginPropsContext } from '../../utils/utils.plugin';
import { prefixRoute } from '../../utils/utils.routing';
import { testIds } from '../testIds';

// useSceneApp caches the app per factory function, so keep one factory per datasource uid.
const factories = new Map<string, () => SceneApp>();
function sceneAppFactory(datasourceUid: string): () => SceneApp {
  let factory = factories.get(datasourceUid);
  if (!factory) {
    factory = () =>
      new SceneApp({
        pages: appPages(datasourceUid),
        urlSyncOptions: { updateUrlOnInit: true, createBrowserHistorySteps: true },
      });
    factories.set(datasourceUid, factory);
  }
  return factory;
}

/**
 * Every page route has a sub-path (`overview/*`, `costs/*`...), so the app's own root,
 * `/a/tollgate-llm-app` with or without a trailing slash, would match none and render nothing. Links
 * and bookmarks may still point there (Grafana's nav, a home page setting): send them to the
 * Overview, keeping the query string (time range, variables). Everything else goes to `children`.
 */
export function AppRoutes({ children }: { children: ReactNode }) {
  const { search } = useLocation();
  return (
    <Routes>
      <Route index element={<Navigate replace to={{ pathname: prefixRoute(ROUTES.Overview), search }} />} />
      <Route path="*" element={children} />
    </Routes>
  );
}

function AppWithScenes({ datasourceUid }: { datasourceUid: string }) {
  const factory = useMemo(() => sceneAppFactory(datasourceUid), [datasourceUid]);
  const scene = useSceneApp(factory);
  return <scene.Component model={scene} />;
}

/**
 * The datasource the pages query: the one saved in the app's jsonData (Configuration page or
 * provisioning); when none is saved, the provisioned `tollgate-postgres` if this Grafana has it, else
 * the only PostgreSQL datasource there is. Otherwise none, and the app says so.
 */
export function resolveDatasourceUid(configured: string | undefined): string | undefined {
  if (configured) {
    return configured;
  }
  const all = Object.values(config.datasources ?? {});
  if (all.some((ds) => ds.uid === PROVISIONED_DATASOURCE_UID)) {
    return PROVISIONED_DATASOURCE_UID;
  }
  const postgres = all.filter((ds) => ds.type === POSTGRES_TYPE || ds.meta?.id === POSTGRES_TYPE);
  return postgres.length === 1 ? postgres[0]!.uid : undefined;
}

export function datasourceProblem(uid: string | undefined): string | undefined {
  if (!uid) {
    return 'No PostgreSQL datasource is configured for Tollgate.';
  }
  if (!config.datasources || !Object.values(config.datasources).some((ds) => ds.uid === uid)) {
    return `The configured datasource "${uid}" does not exist or you cannot access it.`;
  }
  return undefined;
}

function App(props: AppRootProps<AppJsonData>) {
  const uid = resolveDatasourceUid(props.meta.jsonData?.datasourceUid);
  const problem = datasourceProblem(uid);
  return (
    <PluginPropsContext.Provider value={props}>
      {problem || !uid ? (
        <Alert title={problem ?? ''} severity="warning" data-testid={testIds.app.noDatasource}>
          Choose the Tollgate Postgres datasource on the{' '}
          <a href={`${config.appSubUrl ?? ''}/plugins/${props.meta.id}`}>app&apos;s configuration page</a> (provisioning sets{' '}
          <code>tollgate-postgres</code>). The app opens at <code>{prefixRoute(ROUTES.Overview)}</code>.
        </Alert>
      ) : (
        <AppRoutes>
          <AppWithScenes datasourceUid={uid} />
        </AppRoutes>
      )}
    </PluginPropsContext.Provider>
  );
}

export default App;
