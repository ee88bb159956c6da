import type { SceneAppPage } from '@grafana/scenes';
import { cachePage } from './cache';
import { costsPage } from './costs';
import { idempotencyPage } from './idempotency';
import { overviewPage } from './overview';

export function appPages(datasourceUid: string): SceneAppPage[] {
  return [overviewPage(datasourceUid), costsPage(datasourceUid), cachePage(datasourceUid), idempotencyPage(datasourceUid)];
}
