import React, { useMemo } from 'react';
import { SceneApp, useSceneApp } from '@grafana/scenes';
import type { AppRootProps } from '@grafana/data';
import { config } from '@grafana/runtime';
import { Alert } from '@grafana/ui';
import { type AppJsonData, PLUGIN_BASE_URL } from '../../constants';
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
  const uid = props.meta.jsonData?.datasourceUid;
  const problem = datasourceProblem(uid);
  return (
    <PluginPropsContext.Provider value={props}>
      {problem || !uid ? (
        <Alert title={problem ?? ''} severity="warning" data-testid={testIds.app.noDatasource}>
          Choose the Tollgate Postgres datasource on the{' '}
          <a href={`/plugins/${props.meta.id}`}>app&apos;s configuration page</a> (provisioning sets{' '}
          <code>tollgate-postgres</code>). The app opens at <code>{PLUGIN_BASE_URL}</code>.
        </Alert>
      ) : (
        <AppWithScenes datasourceUid={uid} />
      )}
    </PluginPropsContext.Provider>
  );
}

export default App;
