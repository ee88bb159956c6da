import { readFileSync } from 'fs';
import path from 'path';
import {
  ConstantVariable,
  DataSourceVariable,
  EmbeddedScene,
  QueryVariable,
  VizPanel,
  SceneAppPage,
  type SceneAppPageLike,
  type SceneObject,
  SceneQueryRunner,
  sceneGraph,
} from '@grafana/scenes';
import { matchPath } from 'react-router-dom';
import { appPages } from './index';
import { ALL_VALUE } from '../constants';
import { QUERIES } from '../queries';
import { costsUrls } from '../utils/utils.routing';

const UID = 'tollgate-postgres';
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
        expect(vars.map((v) => v.state.name)).toEqual(['ds', 'endpoint', 'model', 'tenant']);
        expect((vars[0] as DataSourceVariable).state).toMatchObject({ pluginId: 'grafana-postgresql-datasource', value: UID });
        for (const v of vars.slice(1) as QueryVariable[]) {
          expect(v.state).toMatchObject({ isMulti: true, includeAll: true, defaultToAll: true, allValue: ALL_VALUE });
          // "All" is the custom value, verbatim, whatever options the variable has (none in an empty log).
          v.setState({ value: '$__all', options: [] });
          expect(sceneGraph.interpolate(v, `('__all' IN ($${v.state.name}))`)).toBe("('__all' IN ('__all'))");
          expect((v.state.query as unknown as { rawSql: string }).rawSql).toBe(sqlFile(`var_${v.state.name}`));
        }
        expect(scene.state.controls?.length).toBe(4);
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
      'panel1_daily_cost_by_endpoint',
      'panel2_persona_cache_growth',
      'panel3_idempotent_requests',
      'panel4_model_cost_breakdown',
      'hit_ratio',
      'panel5_persona_hit_ratio_approx',
    ]);
    const panel1 = runners(scene)[4]!;
    expect(panel1.state.queries[0]).toMatchObject({ format: 'time_series', refId: 'A', rawQuery: true, editorMode: 'code' });
    const panels = sceneGraph.findAllObjects(scene, (o) => o instanceof VizPanel) as VizPanel[];
    const byTitle = (t: string) => panels.find((p) => p.state.title.startsWith(t))!;
    // Design note: time series, bar chart, time series, pie, stat; legend {{endpoint}}; USD and ratios.
    expect(panels.map((p) => p.state.pluginId)).toEqual(['stat', 'stat', 'stat', 'stat', 'timeseries', 'barchart', 'timeseries', 'piechart', 'timeseries', 'stat']);
    expect(byTitle('Daily OpenAI cost').state.fieldConfig.defaults).toMatchObject({ unit: 'currencyUSD', displayName: '${__field.labels.endpoint}' });
    expect(byTitle('Cache hit ratio (exact').state.fieldConfig.defaults.unit).toBe('percentunit');
    // Panel 5 returns the two counts next to the ratio: only the ratio is shown as a percentage.
    expect(byTitle('Persona cache hit ratio').state.options).toMatchObject({ reduceOptions: { fields: '/^cache_hit_ratio$/' } });
  });

  it('cache and idempotency pages run their named queries', () => {
    const cache = page('Cache');
    expect(cache.state.tabs?.map((t) => t.state.url)).toEqual(['/a/tollgate-llm-app/cache', '/a/tollgate-llm-app/cache/hit-ratio']);
    const [persona, ratio] = cache.state.tabs!.map((t) => (t as SceneAppPage).state.getScene!(match({}, t.state.url)));
    expect(runners(persona!).map((r) => queryName(sqlOf(r)))).toEqual([
      'note_persona_cache_total',
      'panel5_persona_hit_ratio_approx',
      'panel2_persona_cache_growth',
      'note_persona_cache_age_buckets',
      'cache_top_entries',
    ]);
    expect(runners(ratio!).map((r) => queryName(sqlOf(r)))).toEqual(['stat_hit_ratio', 'stat_cost_saved', 'hit_ratio', 'cost_saved_daily']);
    const idem = page('Idempotency').state.getScene!(match({}, '/a/tollgate-llm-app/idempotency'));
    expect(runners(idem).map((r) => queryName(sqlOf(r)))).toEqual([
      'note_request_log_total',
      'stat_cost_saved',
      'panel3_idempotent_requests',
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

  it("each table's data link, filled in as Grafana does, lands on the next drill-down route", () => {
    const linkOf = (scene: SceneObject, field: string): string => {
      const panel = (sceneGraph.findAllObjects(scene, (o) => o instanceof VizPanel) as VizPanel[]).find((p) =>
        p.state.fieldConfig.overrides.some((o) => o.matcher.options === field)
      )!;
      const override = panel.state.fieldConfig.overrides.find((o) => o.matcher.options === field)!;
      return (override.properties[0]!.value as Array<{ url: string }>)[0]!.url;
    };
    // ${__url.path} is the current path, ${__value.text} the cell, ${__url.params} the query string.
    const follow = (from: string, url: string, value: string) =>
      url.replace('${__url.path}', from).replace('${__value.text}', encodeURI(value)).replace('${__url.params}', '?from=now-7d&var-endpoint=%24__all');
    const routeOf = (page: SceneAppPage, href: string) => {
      const rest = href.split('?')[0]!.slice(page.state.url.length);
      const d = page.state.drilldowns!.find((x) => matchPath(x.routePath, rest) || matchPath(x.routePath.replace(/\/\*$/, ''), rest))!;
      expect(d).toBeDefined();
      const m = matchPath(d.routePath.replace(/\/\*$/, ''), rest)!;
      return d.getPage(match(m.params as Record<string, string>, href), page) as SceneAppPage;
    };
    const costsScene = costs.state.getScene!(match({}, costs.state.url));
    const toEndpoint = follow(costs.state.url, linkOf(costsScene, 'endpoint'), 'chat.completions');
    expect(toEndpoint).toBe('/a/tollgate-llm-app/costs/endpoint/chat.completions?from=now-7d&var-endpoint=%24__all');
    const endpoint = routeOf(costs, toEndpoint);
    expect(endpoint.state.url).toBe(costsUrls.endpoint('chat.completions'));

    const toModel = follow(endpoint.state.url, linkOf(endpoint.state.getScene!(match({}, endpoint.state.url)), 'model'), 'gpt-4o');
    const model = routeOf(endpoint, toModel);
    expect(model.state.url).toBe(costsUrls.model('chat.completions', 'gpt-4o'));

    const id = '00000000-0000-4000-8000-00000000000a';
    const toCall = follow(model.state.url, linkOf(model.state.getScene!(match({}, model.state.url)), 'call_id'), id);
    const call = routeOf(model, toCall);
    expect(call.state.url).toBe(costsUrls.call('chat.completions', 'gpt-4o', id));
    expect(call.state.title).toBe(`Call ${id}`);
  });

  it('refuses URL values that are not plain names or a uuid, instead of querying with them', () => {
    // react-router hands over decoded params; a stray % must not crash the page.
    expect(drill(costs, { endpoint: 'a%' }).state.title).toBe('Invalid endpoint');
    const bad = drill(costs, { endpoint: "x' OR '1'='1" });
    expect(bad.state.title).toBe('Invalid endpoint');
    expect(runners(bad.state.getScene!(match({}, bad.state.url)))).toHaveLength(0);
    const endpoint = drill(costs, { endpoint: 'embeddings' });
    const model = drill(endpoint, { model: 'text-embedding-3-small' });
    expect(drill(model, { callId: 'not-a-uuid' }).state.title).toBe('Invalid call id');
  });
});
