import React, { useMemo } from 'react';
import { SceneApp, useSceneApp } from '@grafana/scenes';
import type { AppRootProps } from '@grafana/data';
import { config } from '@grafana/runtime';
import { Alert } from '@grafana/ui';
import { type AppJsonData, PLUGIN_BASE_URL, POSTGRES_TYPE, PROVISIONED_DATASOURCE_UID } from '../../constants';
import { appPages } from '../../pages';
import { PluginPropsContext } from '../../utils/utils.plugin';
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
          <code>tollgate-postgres</code>). The app opens at <code>{PLUGIN_BASE_URL}</code>.
        </Alert>
      ) : (
        <AppWithScenes datasourceUid={uid} />
      )}
    </PluginPropsContext.Provider>
  );
}

export default App;
