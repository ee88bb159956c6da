import React, { useState } from 'react';
import { Alert, Button, Field, FieldSet } from '@grafana/ui';
import type { AppPluginMeta, DataSourceInstanceSettings, PluginConfigPageProps, PluginMeta } from '@grafana/data';
import { DataSourcePicker, getBackendSrv, locationService } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';
import { type AppJsonData, POSTGRES_TYPE } from '../../constants';
import { testIds } from '../testIds';

export interface AppConfigProps extends PluginConfigPageProps<AppPluginMeta<AppJsonData>> {}

type Check = { kind: 'none' } | { kind: 'ok'; message: string } | { kind: 'error'; message: string };

/** Grafana's datasource health check: proves the datasource can reach Postgres with its credentials. */
export async function checkDatasource(uid: string): Promise<Check> {
  try {
    const res = await lastValueFrom(
      getBackendSrv().fetch<{ status?: string; message?: string }>({ url: `/api/datasources/uid/${uid}/health`, method: 'GET', showErrorAlert: false })
    );
    return res.data.status === 'OK'
      ? { kind: 'ok', message: res.data.message ?? 'Database connection OK' }
      : { kind: 'error', message: res.data.message ?? `status ${res.data.status ?? 'unknown'}` };
  } catch (e) {
    return { kind: 'error', message: errorMessage(e, 'the datasource did not answer') };
  }
}

/** The message of a getBackendSrv().fetch error (the API's `{ message }`) or of any other error. */
function errorMessage(e: unknown, fallback: string): string {
  const err = (e ?? {}) as { data?: { message?: string }; message?: string };
  return err.data?.message ?? err.message ?? fallback;
}

/** POST /api/plugins/<id>/settings: jsonData is what the app pages read back from plugin.meta. */
export async function saveSettings(pluginId: string, data: Partial<PluginMeta<AppJsonData>>): Promise<void> {
  await lastValueFrom(getBackendSrv().fetch({ url: `/api/plugins/${pluginId}/settings`, method: 'POST', data }));
}

const AppConfig = ({ plugin }: AppConfigProps) => {
  const { enabled, pinned, jsonData } = plugin.meta;
  const [uid, setUid] = useState<string>(jsonData?.datasourceUid ?? '');
  const [check, setCheck] = useState<Check>({ kind: 'none' });
  const [saveError, setSaveError] = useState<string | undefined>();
  const [saving, setSaving] = useState(false);
  // Saved, but not reloaded because the check failed: say so, next to the check's message.
  const [savedUnchecked, setSavedUnchecked] = useState(false);

  const onSubmit = async (event: React.FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setSaveError(undefined);
    setSavedUnchecked(false);
    const result = await checkDatasource(uid);
    setCheck(result);
    try {
      // Saved even when the check fails: the datasource may only be down for now, and the check's
      // message says what to fix.
      await saveSettings(plugin.meta.id, { enabled, pinned, jsonData: { ...jsonData, datasourceUid: uid } });
    } catch (e) {
      setSaveError(errorMessage(e, 'Grafana did not save the settings'));
      return;
    } finally {
      setSaving(false);
    }
    if (result.kind === 'ok') {
      // The app reads jsonData once per page load; a reload shows the new datasource. Only now: a
      // reload would wipe the message of a failed check before anyone could read it.
      locationService.reload();
    } else {
      setSavedUnchecked(true);
    }
  };

  return (
    <form onSubmit={onSubmit} data-testid={testIds.appConfig.container}>
      <FieldSet label="Data">
        {!uid && (
          <Alert title="No datasource selected" severity="warning">
            The Tollgate pages need the PostgreSQL datasource that reads the proxy&apos;s call log (provisioned as{' '}
            <code>tollgate-postgres</code>).
          </Alert>
        )}
        {check.kind === 'error' && (
          <Alert title="The datasource cannot be reached" severity="error" data-testid={testIds.appConfig.status}>
            {check.message}
          </Alert>
        )}
        {check.kind === 'ok' && (
          <Alert title="Datasource reachable" severity="success" data-testid={testIds.appConfig.status}>
            {check.message}
          </Alert>
        )}
        {savedUnchecked && (
          <Alert title="Settings saved" severity="info" data-testid={testIds.appConfig.saved}>
            The app uses this datasource from the next page load; fix the connection first.
          </Alert>
        )}
        {saveError !== undefined && (
          <Alert title="The settings were not saved" severity="error" data-testid={testIds.appConfig.saveError}>
            {saveError}
          </Alert>
        )}
        <Field label="PostgreSQL datasource" description="The datasource of the Tollgate database (read-only role).">
          <div data-testid={testIds.appConfig.datasource}>
            <DataSourcePicker
              pluginId={POSTGRES_TYPE}
              current={uid || null}
              noDefault
              onChange={(ds: DataSourceInstanceSettings) => {
                setUid(ds.uid);
                setCheck({ kind: 'none' });
                setSavedUnchecked(false);
                setSaveError(undefined);
              }}
            />
          </div>
        </Field>
        <Button type="button" variant="secondary" disabled={!uid} onClick={async () => setCheck(await checkDatasource(uid))}>
          Test connection
        </Button>{' '}
        <Button type="submit" data-testid={testIds.appConfig.submit} disabled={!uid || saving}>
          Save
        </Button>
      </FieldSet>
    </form>
  );
};

export default AppConfig;
