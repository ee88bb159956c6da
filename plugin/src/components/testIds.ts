export const testIds = {
  call: {
    record: 'data-testid tollgate-call-record',
  },
  app: {
    noDatasource: 'data-testid tollgate-no-datasource',
  },
  appConfig: {
    container: 'data-testid ac-container',
    datasource: 'data-testid ac-datasource',
    status: 'data-testid ac-status',
    saveError: 'data-testid ac-save-error',
    saved: 'data-testid ac-saved',
    submit: 'data-testid ac-submit-form',
  },
};
