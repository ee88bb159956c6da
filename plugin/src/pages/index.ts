import type { SceneAppPage } from '@grafana/scenes';
import { budgetPage } from './budget';
import { cachePage } from './cache';
import { costsPage } from './costs';
import { idempotencyPage } from './idempotency';
import { overviewPage } from './overview';
import { performancePage } from './performance';
import { tenantsPage } from './tenants';

export function appPages(datasourceUid: string): SceneAppPage[] {
  return [
    overviewPage(datasourceUid),
    costsPage(datasourceUid),
    tenantsPage(datasourceUid),
    performancePage(datasourceUid),
    budgetPage(datasourceUid),
    cachePage(datasourceUid),
    idempotencyPage(datasourceUid),
  ];
}
