import { readFileSync } from 'fs';
import path from 'path';
import { createDataFrame, type DataLink, FieldType, getLinksSupplier, type InterpolateFunction } from '@grafana/data';
import { locationService } from '@grafana/runtime';
import {
  ConstantVariable,
  DataSourceVariable,
  EmbeddedScene,
  QueryVariable,
  VizPanel,
  SceneAppPage,
  type SceneAppPageLike,
  SceneFlexLayout,
  type SceneObject,
  SceneQueryRunner,
  SceneTimeRange,
  SceneVariableSet,
  sceneGraph,
} from '@grafana/scenes';
import { matchRoutes } from 'react-router-dom';
import { appPages } from './index';
import { ALL_VALUE, PLUGIN_BASE_URL } from '../constants';
import { QUERIES } from '../queries';
import { costsUrls, encodeSegment, isSafeValue } from '../utils/utils.routing';

const UID = 'tollgate-postgres';
const dashboard = JSON.parse(
  readFileSync(path.join(__dirname, '../../../provisioning/dashboards/tollgate-cost-cache.json'), 'utf8')
) as { timezone: string };
const sqlFile = (name: string) => readFileSync(path.join(__dirname, '../../../sql/queries', `${name}.sql`), 'utf8');

function runners(root: SceneObject): SceneQueryRunner[] {
  const found: SceneQueryRunner[] = [];
  sceneGraph.findAllObjects(root, (o) => o instanceof SceneQueryRunner).forEach((o) => found.push(o as SceneQueryRunner));
  return found;
}

function sqlOf(r: SceneQueryRunner): string {
  return (r.state.queries[0] as unknown as { rawSql: string }).rawSql;
}

function queryName(sql: string): string {
  const entry = Object.entries(QUERIES).find(([, text]) => text === sql);
  if (!entry) {
    throw new Error(`a panel runs SQL that is not a sql/queries file:\n${sql}`);
  }
  return entry[0];
}

const match = (params: Record<string, string>, url: string) => ({ params, isExact: true, path: url, url });

/** Every variable a query names ($x or ${x}, not Grafana's $__ ones) is defined in the page's scene. */
function expectVariablesResolve(scene: EmbeddedScene, r: SceneQueryRunner) {
  const names = [...sqlOf(r).matchAll(/\$\{?([a-z][a-z_]*)\}?/g)].map((m) => m[1]);
  for (const name of names) {
    expect(sceneGraph.lookupVariable(name!, r)).toBeDefined();
  }
  expect(r.state.datasource).toEqual({ type: 'grafana-postgresql-datasource', uid: '${ds}' });
}

function page(title: string): SceneAppPage {
  const p = appPages(UID).find((x) => x.state.title === title);
  if (!p) {
    throw new Error(`no page ${title}`);
  }
  return p;
}

describe('app pages', () => {
  it('imports each query file verbatim', () => {
    for (const [name, text] of Object.entries(QUERIES)) {
      expect(text).toBe(sqlFile(name));
    }
  });

  it('builds every page with the datasource, endpoint, model and tenant variables', () => {
    for (const p of appPages(UID)) {
      const scenes = [p, ...(p.state.tabs ?? [])].map((x) => (x as SceneAppPage).state.getScene!(match({}, x.state.url)));
      for (const scene of scenes) {
        expect(scene).toBeInstanceOf(EmbeddedScene);
        const vars = scene.state.$variables!.state.variables;
        // The Tenants page adds the attribution filters (app user, tag) after the four.
        const extra = p.state.title === 'Tenants' ? ['app_user', 'tag'] : [];
        expect(vars.map((v) => v.state.name)).toEqual(['ds', 'endpoint', 'model', 'tenant', ...extra]);
        expect((vars[0] as DataSourceVariable).state).toMatchObject({ pluginId: 'grafana-postgresql-datasource', value: UID });
        for (const v of vars.slice(1) as QueryVariable[]) {
          expect(v.state).toMatchObject({ isMulti: true, includeAll: true, defaultToAll: true, allValue: ALL_VALUE });
          // "All" is the custom value, verbatim, whatever options the variable has (none in an empty log).
          v.setState({ value: '$__all', options: [] });
          expect(sceneGraph.interpolate(v, `('__all' IN ($${v.state.name}))`)).toBe("('__all' IN ('__all'))");
          expect((v.state.query as unknown as { rawSql: string }).rawSql).toBe(sqlFile(`var_${v.state.name}`));
        }
        expect(scene.state.controls?.length).toBe(4);
        // UTC, like the SQL's day buckets and the provisioned dashboard.
        expect(scene.state.$timeRange).toBeInstanceOf(SceneTimeRange);
        expect(scene.state.$timeRange!.getTimeZone()).toBe('utc');
        expect(scene.state.$timeRange!.getTimeZone()).toBe(dashboard.timezone);
        for (const r of runners(scene)) {
          expectVariablesResolve(scene, r);
        }
      }
    }
  });

  it("overview shows the stat row and the design note's five panels", () => {
    const scene = page('Overview').state.getScene!(match({}, '/a/tollgate-llm-app/overview'));
    expect(runners(scene).map((r) => queryName(sqlOf(r)))).toEqual([
      'stat_total_cost',
      'stat_calls',
      'stat_hit_ratio',
      'stat_cost_saved',
      'costs_daily_by_endpoint',
      'persona_cache_daily',
      'stored_responses_daily',
      'cost_by_model',
      'hit_ratio',
      'persona_hit_ratio',
    ]);
    const panel1 = runners(scene)[4]!;
    expect(panel1.state.queries[0]).toMatchObject({ format: 'time_series', refId: 'A', rawQuery: true, editorMode: 'code' });
    const panels = sceneGraph.findAllObjects(scene, (o) => o instanceof VizPanel) as VizPanel[];
    const byTitle = (t: string) => panels.find((p) => p.state.title.startsWith(t))!;
    // Design note: time series, bar chart, time series, pie, stat; legend {{endpoint}}; USD and ratios.
    expect(panels.map((p) => p.state.pluginId)).toEqual(['stat', 'stat', 'stat', 'stat', 'timeseries', 'barchart', 'timeseries', 'piechart', 'timeseries', 'stat']);
    expect(byTitle('Daily OpenAI cost').state.fieldConfig.defaults).toMatchObject({ unit: 'currencyUSD' });
    expect(byTitle('Cache hit ratio (exact').state.fieldConfig.defaults.unit).toBe('percentunit');
    // Panel 5 returns the two counts next to the ratio: only the ratio is shown as a percentage. Grafana
    // matches the pattern against the display name, so it names the ratio's human name.
    expect(byTitle('Persona requests served from cache').state.options).toMatchObject({ reduceOptions: { fields: '/^Hit ratio$/' } });
  });

  it('cache and idempotency pages run their named queries', () => {
    const cache = page('Cache');
    expect(cache.state.tabs?.map((t) => t.state.url)).toEqual(['/a/tollgate-llm-app/cache', '/a/tollgate-llm-app/cache/hit-ratio']);
    const [persona, ratio] = cache.state.tabs!.map((t) => (t as SceneAppPage).state.getScene!(match({}, t.state.url)));
    expect(runners(persona!).map((r) => queryName(sqlOf(r)))).toEqual([
      'persona_cache_entries',
      'persona_hit_ratio',
      'persona_cache_daily',
      'persona_cache_age_buckets',
      'cache_top_entries',
    ]);
    expect(runners(ratio!).map((r) => queryName(sqlOf(r)))).toEqual(['stat_hit_ratio', 'stat_cost_saved', 'hit_ratio', 'cost_saved_daily']);
    const idem = page('Idempotency').state.getScene!(match({}, '/a/tollgate-llm-app/idempotency'));
    expect(runners(idem).map((r) => queryName(sqlOf(r)))).toEqual([
      'stored_responses_total',
      'stat_cost_saved',
      'stored_responses_daily',
      'idem_replays_daily',
      'idem_replays_by_endpoint',
    ]);
  });
});

describe('costs drill-down', () => {
  const costs = page('Costs');
  const drill = (p: SceneAppPageLike, params: Record<string, string>) => {
    const d = (p as SceneAppPage).state.drilldowns![0]!;
    return d.getPage(match(params, ''), p) as SceneAppPage;
  };

  it('goes endpoint -> model -> call, each with its own URL, breadcrumb parent and queries', () => {
    expect(costs.state.drilldowns?.map((d) => d.routePath)).toEqual(['endpoint/:endpoint/*']);
    const endpoint = drill(costs, { endpoint: 'chat.completions' });
    expect(endpoint.state.url).toBe('/a/tollgate-llm-app/costs/endpoint/chat.completions');
    expect(endpoint.state.url).toBe(costsUrls.endpoint('chat.completions'));
    expect(endpoint.state.getParentPage!()).toBe(costs);
    const endpointScene = endpoint.state.getScene!(match({}, endpoint.state.url));
    expect(runners(endpointScene).map((r) => queryName(sqlOf(r)))).toEqual(['costs_models_in_endpoint']);
    const drillEndpoint = sceneGraph.lookupVariable('drill_endpoint', runners(endpointScene)[0]!) as ConstantVariable;
    expect(drillEndpoint.getValue()).toBe('chat.completions');

    const model = drill(endpoint, { model: 'gpt-4o' });
    expect(model.state.url).toBe('/a/tollgate-llm-app/costs/endpoint/chat.completions/model/gpt-4o');
    expect(model.state.getParentPage!()).toBe(endpoint);
    const modelScene = model.state.getScene!(match({}, model.state.url));
    const [calls] = runners(modelScene);
    expect(queryName(sqlOf(calls!))).toBe('costs_calls');
    expect((sceneGraph.lookupVariable('drill_model', calls!) as ConstantVariable).getValue()).toBe('gpt-4o');
    expectVariablesResolve(modelScene, calls!);

    const id = '00000000-0000-4000-8000-000000000001';
    const call = drill(model, { callId: id });
    expect(call.state.url).toBe(`/a/tollgate-llm-app/costs/endpoint/chat.completions/model/gpt-4o/call/${id}`);
    expect(call.state.getParentPage!()).toBe(model);
    const callScene = call.state.getScene!(match({}, call.state.url));
    const [detail] = runners(callScene);
    expect(queryName(sqlOf(detail!))).toBe('call_detail');
    expect((sceneGraph.lookupVariable('call_id', detail!) as ConstantVariable).getValue()).toBe(id);
  });

  /** The VizPanel of `scene` whose field `field` carries a data link, and that link. */
  const linkOf = (scene: SceneObject, field: string): { panel: VizPanel; links: DataLink[] } => {
    const linksOf = (p: VizPanel) =>
      p.state.fieldConfig.overrides.filter((o) => o.matcher.options === field).flatMap((o) => o.properties.filter((x) => x.id === 'links'));
    const panel = (sceneGraph.findAllObjects(scene, (o) => o instanceof VizPanel) as VizPanel[]).find((p) => linksOf(p).length > 0)!;
    return { panel, links: linksOf(panel)[0]!.value as DataLink[] };
  };

  /**
   * The href of a table cell's data link, built by Grafana's own code: @grafana/data's getLinksSupplier
   * (uriencode unless the link names a format) with the panel's Scenes interpolation, at the current
   * location (`${__url.path}` and `${__url.params}` read locationService).
   */
  const cellHref = (scene: SceneObject, field: string, value: string): string => {
    const { panel, links } = linkOf(scene, field);
    const frame = createDataFrame({ fields: [{ name: field, type: FieldType.string, values: [value], config: { links } }] });
    // What VizPanel.interpolate does; getLinksSupplier passes a format name.
    const interpolate: InterpolateFunction = (text, scopedVars, format) =>
      sceneGraph.interpolate(panel, text, scopedVars, format as Parameters<typeof sceneGraph.interpolate>[3]);
    const [link] = getLinksSupplier(frame, frame.fields[0]!, {}, interpolate)({ valueRowIndex: 0 });
    return link!.href;
  };

  /**
   * The page Grafana renders at `pathname`: react-router's matchRoutes (which decodes each segment as
   * the app's <Routes> do) over the route paths from the Costs page down its drill-downs, each page
   * built from the params react-router hands over.
   */
  const pageAt = (pathname: string): SceneAppPage => {
    let current = costs;
    let base = `${PLUGIN_BASE_URL}/${costs.state.routePath!.replace(/\/\*$/, '')}`;
    for (;;) {
      const next = (current.state.drilldowns ?? [])
        .map((d) => ({ d, path: `${base}/${d.routePath}` }))
        .map(({ d, path }) => ({ d, path, m: matchRoutes([{ path }], pathname)?.[0] }))
        .find(({ m }) => m);
      if (!next) {
        return current;
      }
      current = next.d.getPage({ params: next.m!.params, isExact: true, path: pathname, url: pathname }, current) as SceneAppPage;
      base = next.path.replace(/\/\*$/, '');
    }
  };

  /** Follows a link as Grafana does: locationService.push (its history runs decodeURI over the path). */
  const open = (href: string): SceneAppPage => {
    expect(href).not.toMatch(/%25/); // nothing encoded twice: no value here holds a `%`
    locationService.push(href);
    return pageAt(locationService.getLocation().pathname);
  };
  const sceneOf = (p: SceneAppPage) => p.state.getScene!(match({}, p.state.url));
  const drillValue = (p: SceneAppPage, name: string) =>
    (sceneGraph.lookupVariable(name, runners(sceneOf(p))[0]!) as ConstantVariable).getValue();
  const search = '?from=now-7d&var-endpoint=%24__all';

  it("each table's data link, filled in as Grafana does, lands on the next drill-down route", () => {
    locationService.push(`${costs.state.url}${search}`);
    const toEndpoint = cellHref(sceneOf(costs), 'endpoint', 'chat.completions');
    expect(toEndpoint).toBe(`/a/tollgate-llm-app/costs/endpoint/chat.completions${search}`);
    const endpoint = open(toEndpoint);
    expect(endpoint.state.url).toBe(costsUrls.endpoint('chat.completions'));

    const model = open(cellHref(sceneOf(endpoint), 'model', 'gpt-4o'));
    expect(model.state.url).toBe(costsUrls.model('chat.completions', 'gpt-4o'));

    const id = '00000000-0000-4000-8000-00000000000a';
    const call = open(cellHref(sceneOf(model), 'call_id', id));
    expect(call.state.url).toBe(costsUrls.call('chat.completions', 'gpt-4o', id));
    expect(call.state.title).toBe(`Call ${id}`);
    expect(locationService.getLocation().search).toBe(search);
  });

  it.each([
    ['a fine-tuned model id', 'ft:gpt-4o-mini-2024-07-18:acme::AbC123'],
    ['a model id with a slash', 'meta-llama/Llama-3.1-8B'],
  ])('takes %s through endpoint -> model -> call and back by breadcrumbs', (_, modelId) => {
    const endpointId = 'chat.completions';
    const id = '00000000-0000-4000-8000-00000000000b';
    locationService.push(`${costs.state.url}${search}`);
    const endpoint = open(cellHref(sceneOf(costs), 'endpoint', endpointId));
    const model = open(cellHref(sceneOf(endpoint), 'model', modelId));
    expect(model.state.title).toBe(`${endpointId} / ${modelId}`);
    expect(model.state.url).toBe(costsUrls.model(endpointId, modelId));
    expect(locationService.getLocation().pathname).toBe(costsUrls.model(endpointId, modelId));
    expect(drillValue(model, 'drill_model')).toBe(modelId);
    expect(drillValue(model, 'drill_endpoint')).toBe(endpointId);

    const call = open(cellHref(sceneOf(model), 'call_id', id));
    expect(call.state.url).toBe(costsUrls.call(endpointId, modelId, id));
    expect(call.state.title).toBe(`Call ${id}`);
    expect(drillValue(call, 'call_id')).toBe(id);

    // Breadcrumbs: each parent's URL (as Scenes links it, with the query string) opens the same page,
    // and a cell clicked there (the path now as the page built it) leads to the same call again.
    const crumb = (p: SceneAppPage) => `${p.state.getParentPage!().state.url}${locationService.getLocation().search}`;
    const backToModel = open(crumb(call));
    expect([backToModel.state.url, backToModel.state.title]).toEqual([model.state.url, model.state.title]);
    expect(open(cellHref(sceneOf(backToModel), 'call_id', id)).state.url).toBe(call.state.url);
    const backToEndpoint = open(crumb(backToModel));
    expect([backToEndpoint.state.url, backToEndpoint.state.title]).toEqual([endpoint.state.url, endpointId]);
    expect(open(cellHref(sceneOf(backToEndpoint), 'model', modelId)).state.title).toBe(model.state.title);
    expect(open(crumb(backToEndpoint))).toBe(costs);
    expect(locationService.getLocation().search).toBe(search);
  });

  it("builds page URLs with Grafana's percentencode format, one segment per value", () => {
    const values = ['ft:gpt-4o-mini-2024-07-18:acme::AbC123', 'meta-llama/Llama-3.1-8B', "o'brien (eu) *", 'a b?c#d&e=f'];
    for (const value of values) {
      const scene = new EmbeddedScene({
        $variables: new SceneVariableSet({ variables: [new ConstantVariable({ name: 'v', value })] }),
        body: new SceneFlexLayout({ children: [] }),
      });
      expect(encodeSegment(value)).toBe(sceneGraph.interpolate(scene, '${v:percentencode}'));
      expect(encodeSegment(value)).not.toContain('/');
      expect(pageAt(costsUrls.endpoint(value)).state.title).toBe(value);
    }
  });

  it('accepts any value Grafana can quote and a URL can carry, and refuses the rest instead of querying', () => {
    // Grafana's PostgreSQL datasource doubles the quotes of a single value: `'${drill_endpoint}'` stays one literal.
    const pgFormat = (v: unknown) => String(v).replace(/'/g, "''");
    const quoted = drill(costs, { endpoint: "x' OR '1'='1" });
    expect(quoted.state.title).toBe("x' OR '1'='1");
    const [runner] = runners(sceneOf(quoted));
    expect(sceneGraph.interpolate(runner!, "endpoint = '${drill_endpoint}'", undefined, pgFormat)).toBe("endpoint = 'x'' OR ''1''=''1'");
    for (const ok of ['ft:gpt-4o-mini-2024-07-18:acme::AbC123', 'meta-llama/Llama-3.1-8B', 'Mistral Large 2', 'gpt-4o@eu', '模型']) {
      expect([ok, isSafeValue(ok)]).toEqual([ok, true]);
    }
    // `%` (decoded twice on the way), `$` (backend macros), `\`, control characters, dot segments.
    for (const bad of ['a%', 'a%3A', '$__timeFilter(x)', 'a\\b', 'a\u0000b', 'a\nb', '.', '..', '', 'x'.repeat(257)]) {
      expect([bad, isSafeValue(bad)]).toEqual([bad, false]);
    }
    // react-router hands over decoded params; a stray % must not crash the page.
    expect(drill(costs, { endpoint: 'a%' }).state.title).toBe('Invalid endpoint');
    const bad = drill(costs, { endpoint: '$__timeFilter(x)' });
    expect(bad.state.title).toBe('Invalid endpoint');
    expect(runners(sceneOf(bad))).toHaveLength(0);
    const endpoint = drill(costs, { endpoint: 'embeddings' });
    const model = drill(endpoint, { model: 'text-embedding-3-small' });
    expect(drill(model, { callId: 'not-a-uuid' }).state.title).toBe('Invalid call id');
  });
});

describe('readability (issue 11)', () => {
  const allScenes = (): EmbeddedScene[] =>
    appPages(UID).flatMap((p) => [p, ...(p.state.tabs ?? [])].map((x) => (x as SceneAppPage).state.getScene!(match({}, x.state.url))));
  const panelsOf = (scene: SceneObject) => sceneGraph.findAllObjects(scene, (o) => o instanceof VizPanel) as VizPanel[];

  it('has a page for tenants, performance and the month budget, each with its own queries', () => {
    expect(appPages(UID).map((p) => p.state.title)).toEqual(['Overview', 'Costs', 'Tenants', 'Performance', 'Budget', 'Cache', 'Idempotency']);
    const names = (title: string) => runners(page(title).state.getScene!(match({}, page(title).state.url))).map((r) => queryName(sqlOf(r)));
    expect(names('Tenants')).toEqual(['tenants_top_spenders', 'tenants_cost_daily', 'tenants_savings', 'tenants_app_users', 'tenants_tags']);
    expect(new Set(names('Performance'))).toEqual(new Set(['perf_summary', 'perf_latency', 'perf_ttfb_overhead', 'perf_error_rates', 'perf_by_endpoint_model']));
    expect(new Set(names('Budget'))).toEqual(new Set(['budget_month_to_date', 'budget_daily_cumulative', 'budget_tenants']));
    // The budget page is this month so far, in UTC like every page.
    const budget = page('Budget').state.getScene!(match({}, page('Budget').state.url));
    expect(budget.state.$timeRange!.state).toMatchObject({ from: 'now/M', to: 'now', timeZone: 'utc' });
  });

  it('no stat keeps Grafana\'s default red-from-80: counts and costs are uncoloured, ratios coloured by meaning', () => {
    for (const scene of allScenes()) {
      for (const p of panelsOf(scene).filter((x) => x.state.pluginId === 'stat')) {
        const steps = p.state.fieldConfig.defaults.thresholds?.steps ?? [];
        expect([p.state.title, steps.length > 0]).toEqual([p.state.title, true]);
        expect(steps.some((x) => x.value === 80)).toBe(false);
        const unit = p.state.fieldConfig.defaults.unit;
        if (unit === 'short' || unit === 'currencyUSD' || unit === 'ms') {
          expect([p.state.title, (p.state.options as { colorMode?: string }).colorMode]).toEqual([p.state.title, 'none']);
        }
      }
    }
    const hit = panelsOf(allScenes()[0]!).find((p) => p.state.title === 'Cache hit ratio')!;
    expect(hit.state.fieldConfig.defaults.thresholds!.steps.map((x) => x.color)).toEqual(['red', 'orange', 'green']);
  });

  it('no title says "design note approximation"; every raw column a table or legend shows has a human name', () => {
    const raw = ['cost_usd', 'tokens_prompt', 'tokens_completion', 'saved_by_cache_usd', 'saved_usd', 'hit_ratio', 'latency_ms', 'call_id'];
    for (const scene of allScenes()) {
      for (const p of panelsOf(scene)) {
        expect(p.state.title).not.toMatch(/design note/i);
        if (p.state.pluginId === 'table' || p.state.pluginId === 'barchart') {
          const named = new Map(
            p.state.fieldConfig.overrides.flatMap((o) => o.properties.filter((x) => x.id === 'displayName').map((x) => [o.matcher.options, x.value]))
          );
          for (const column of raw) {
            expect(named.get(column)).toMatch(/^[A-Z]/);
          }
        }
      }
    }
  });

  it('hides the drill-down variables instead of showing them as empty chips', () => {
    const costs = page('Costs');
    const endpoint = (costs.state.drilldowns![0]!.getPage(match({ endpoint: 'embeddings' }, ''), costs) as SceneAppPage);
    const scene = endpoint.state.getScene!(match({}, endpoint.state.url));
    const drill = scene.state.$variables!.state.variables.find((v) => v.state.name === 'drill_endpoint')!;
    expect(drill.state.hide).toBe(2); // VariableHide.hideVariable
    const tenants = page('Tenants');
    const tenant = tenants.state.drilldowns![0]!.getPage(match({ tenant: 't_abc' }, ''), tenants) as SceneAppPage;
    expect(tenant.state.url).toBe('/a/tollgate-llm-app/tenants/tenant/t_abc');
    const tenantScene = tenant.state.getScene!(match({}, tenant.state.url));
    expect(tenantScene.state.$variables!.state.variables.find((v) => v.state.name === 'drill_tenant')!.state).toMatchObject({ value: 't_abc', hide: 2 });
    const call = tenant.state.drilldowns![0]!.getPage(match({ callId: '00000000-0000-4000-8000-000000000001' }, ''), tenant) as SceneAppPage;
    expect(call.state.url).toBe('/a/tollgate-llm-app/tenants/tenant/t_abc/call/00000000-0000-4000-8000-000000000001');
    expect(call.state.getParentPage!()).toBe(tenant);
  });
});
