import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { PluginType } from '@grafana/data';
import { of, throwError } from 'rxjs';
import AppConfig, { type AppConfigProps } from './AppConfig';
import { testIds } from '../testIds';

const fetch = jest.fn();
const reload = jest.fn();

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getBackendSrv: () => ({ fetch }),
  locationService: { reload: () => reload() },
  // The real picker needs Grafana's datasource service; this one offers two Postgres uids.
  DataSourcePicker: ({ current, onChange }: { current: string | null; onChange: (ds: { uid: string }) => void }) => (
    <select aria-label="datasource" value={current ?? ''} onChange={(e) => onChange({ uid: e.target.value })}>
      <option value="" />
      <option value="tollgate-postgres">tollgate-postgres</option>
      <option value="other-pg">other-pg</option>
    </select>
  ),
}));

/** Lets pending promise callbacks and Node's unhandled-rejection check run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function props(jsonData: Record<string, unknown>): AppConfigProps {
  return {
    plugin: { meta: { id: 'tollgate-llm-app', name: 'Tollgate', type: PluginType.app, enabled: true, pinned: true, jsonData } },
    query: {},
  } as unknown as AppConfigProps;
}

beforeEach(() => {
  fetch.mockReset();
  reload.mockReset();
  fetch.mockImplementation(({ url }: { url: string }) =>
    url.endsWith('/health') ? of({ data: { status: 'OK', message: 'Database Connection OK' } }) : of({ data: {} })
  );
});

describe('AppConfig', () => {
  it('reads the datasource uid from jsonData', () => {
    render(<AppConfig {...props({ datasourceUid: 'tollgate-postgres' })} />);
    expect(screen.getByLabelText('datasource')).toHaveValue('tollgate-postgres');
    expect(screen.queryByText('No datasource selected')).not.toBeInTheDocument();
  });

  it('says so when none is set, and cannot save', () => {
    render(<AppConfig {...props({})} />);
    expect(screen.getByText('No datasource selected')).toBeInTheDocument();
    expect(screen.getByTestId(testIds.appConfig.submit)).toBeDisabled();
  });

  it('saves the chosen uid in jsonData, keeping the other keys, then reloads', async () => {
    render(<AppConfig {...props({ other: 1 })} />);
    fireEvent.change(screen.getByLabelText('datasource'), { target: { value: 'other-pg' } });
    fireEvent.click(screen.getByTestId(testIds.appConfig.submit));
    await waitFor(() => expect(reload).toHaveBeenCalled());
    const save = fetch.mock.calls.map(([req]) => req).find((r) => r.url === '/api/plugins/tollgate-llm-app/settings');
    expect(save).toMatchObject({ method: 'POST', data: { enabled: true, pinned: true, jsonData: { other: 1, datasourceUid: 'other-pg' } } });
  });

  it('saves but does not reload when the check fails, so its message stays on screen', async () => {
    fetch.mockImplementation(({ url }: { url: string }) =>
      url.endsWith('/health') ? of({ data: { status: 'ERROR', message: 'password authentication failed' } }) : of({ data: {} })
    );
    render(<AppConfig {...props({ datasourceUid: 'tollgate-postgres' })} />);
    fireEvent.click(screen.getByTestId(testIds.appConfig.submit));
    expect(await screen.findByText('password authentication failed')).toBeInTheDocument();
    expect(screen.getByTestId(testIds.appConfig.status)).toHaveTextContent('The datasource cannot be reached');
    expect(await screen.findByTestId(testIds.appConfig.saved)).toBeInTheDocument();
    expect(fetch.mock.calls.some(([req]) => req.url === '/api/plugins/tollgate-llm-app/settings')).toBe(true);
    await settle();
    expect(reload).not.toHaveBeenCalled();
  });

  it('shows why a save failed, without reloading and without an unhandled rejection', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      fetch.mockImplementation(({ url }: { url: string }) =>
        url.endsWith('/health')
          ? of({ data: { status: 'OK', message: 'Database Connection OK' } })
          : throwError(() => ({ status: 403, data: { message: 'Permission denied' } }))
      );
      render(<AppConfig {...props({ datasourceUid: 'tollgate-postgres' })} />);
      fireEvent.click(screen.getByTestId(testIds.appConfig.submit));
      expect(await screen.findByTestId(testIds.appConfig.saveError)).toHaveTextContent('The settings were not saved');
      expect(screen.getByText('Permission denied')).toBeInTheDocument();
      expect(screen.queryByTestId(testIds.appConfig.saved)).not.toBeInTheDocument();
      await settle();
      expect(reload).not.toHaveBeenCalled();
      expect(unhandled).not.toHaveBeenCalled();
      // The button is usable again for another try.
      expect(screen.getByTestId(testIds.appConfig.submit)).toBeEnabled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('shows a clear error when the datasource cannot be reached', async () => {
    fetch.mockImplementation(() => {
      throw { data: { message: 'dial tcp: connection refused' } };
    });
    render(<AppConfig {...props({ datasourceUid: 'tollgate-postgres' })} />);
    fireEvent.click(screen.getByText('Test connection'));
    expect(await screen.findByText('The datasource cannot be reached')).toBeInTheDocument();
    expect(screen.getByText('dial tcp: connection refused')).toBeInTheDocument();
  });
});
