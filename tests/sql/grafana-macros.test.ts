import { describe, expect, it } from '@jest/globals';
import {
  expandMacros,
  expandQuery,
  formatInterval,
  goFloat,
  interpolateVariables,
  parseInterval,
  rfc3339Nano,
  stripSqlComments,
} from '../../sql/grafana-macros.js';

// The fixture Grafana's own macros_test.go uses, so expected strings can be compared with it.
const range = { from: new Date('2018-04-12T18:00:00Z'), to: new Date('2018-04-12T18:05:00Z') };
const expand = (sql: string, intervalMs?: number): string => expandMacros(sql, { range, intervalMs });

describe('Grafana PostgreSQL macro expansion', () => {
  it('expands the time macros with UTC RFC3339 timestamps', () => {
    expect(expand('select $__time(time_column)')).toBe('select time_column AS "time"');
    expect(expand('select $__timeEpoch(time)')).toBe('select extract(epoch from time) as "time"');
    expect(expand('WHERE $__timeFilter(time_column)')).toBe(
      "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'",
    );
    expect(expand('select $__timeFrom(), $__timeTo()')).toBe(
      "select '2018-04-12T18:00:00Z', '2018-04-12T18:05:00Z'",
    );
    expect(rfc3339Nano(new Date('2018-04-12T18:00:00.120Z'))).toBe('2018-04-12T18:00:00.12Z');
  });

  it('expands $__timeGroup, adding AS "time" only for the alias form or a comma right after', () => {
    expect(expand("GROUP BY $__timeGroup(time_column,'5m')")).toBe(
      'GROUP BY floor(extract(epoch from time_column)/300)*300',
    );
    // The fill argument never changes the SQL text.
    expect(expand("GROUP BY $__timeGroup(time_column, '5m', NULL)")).toBe(
      'GROUP BY floor(extract(epoch from time_column)/300)*300',
    );
    expect(expand("SELECT $__timeGroupAlias(time_column,'1d')")).toBe(
      'SELECT floor(extract(epoch from time_column)/86400)*86400 AS "time"',
    );
    // Pre-5.3 compatibility: a ',' after the first occurrence aliases every identical occurrence.
    expect(expand("SELECT $__timeGroup(c,'5m'), v FROM t GROUP BY $__timeGroup(c,'5m')")).toBe(
      'SELECT floor(extract(epoch from c)/300)*300 AS "time", v FROM t GROUP BY floor(extract(epoch from c)/300)*300 AS "time"',
    );
    expect(expand("SELECT $__timeGroup(c,'5m') AS time, v")).toBe(
      'SELECT floor(extract(epoch from c)/300)*300 AS time, v',
    );
  });

  it('prints intervals the way Go prints a float64 with %v', () => {
    expect(expand("$__timeGroup(c,'12d')")).toBe('floor(extract(epoch from c)/1.0368e+06)*1.0368e+06');
    expect(expand("$__timeGroup(c,'1h30m')")).toBe('floor(extract(epoch from c)/5400)*5400');
    expect(expand("$__timeGroup(c,'500ms')")).toBe('floor(extract(epoch from c)/0.5)*0.5');
    expect(goFloat(604800)).toBe('604800');
    expect(goFloat(1e6)).toBe('1e+06');
    expect(goFloat(0.00001)).toBe('1e-05');
    expect(parseInterval('1w')).toBe(604_800_000);
    // A calendar month depends on "now": 31 days from 1 January, 28 from 1 February 2019.
    expect(parseInterval('1M', new Date('2019-01-01T00:00:00Z'))).toBe(31 * 86_400_000);
    expect(parseInterval('1M', new Date('2019-02-01T00:00:00Z'))).toBe(28 * 86_400_000);
    expect(() => parseInterval('5x')).toThrow('error parsing interval');
  });

  it('expands the unix epoch macros and the global interval macros', () => {
    expect(expand('WHERE $__unixEpochFilter(time)')).toBe('WHERE time >= 1523556000 AND time <= 1523556300');
    expect(expand('WHERE $__unixEpochNanoFilter(time)')).toBe(
      'WHERE time >= 1523556000000000000 AND time <= 1523556300000000000',
    );
    expect(expand('$__unixEpochNanoFrom() $__unixEpochNanoTo()')).toBe('1523556000000000000 1523556300000000000');
    expect(expand("$__unixEpochGroup(time_column,'5m')")).toBe('floor((time_column)/300)*300');
    expect(expand("$__unixEpochGroupAlias(time_column,'5m')")).toBe('floor((time_column)/300)*300 AS "time"');
    expect(expand('$__unixEpochFrom() $__unixEpochTo()')).toBe('1523556000 1523556300');
    expect(expand('$__interval $__interval_ms', 600_000)).toBe('10m 600000');
    expect(expand('$__interval $__interval_ms', 7 * 86_400_000)).toBe('7d 604800000');
    expect(formatInterval(86_400_000)).toBe('1d');
    expect(formatInterval(1500)).toBe('1s');
  });

  it("formats $__interval like grafana-plugin-sdk-go's gtime.FormatInterval: no weeks, never under 1ms", () => {
    // The SDK's own TestFormatInterval cases, then weeks (none: days) and below a millisecond.
    expect(formatInterval(61_000)).toBe('1m');
    expect(formatInterval(30)).toBe('30ms');
    expect(formatInterval(23 * 3_600_000)).toBe('23h');
    expect(formatInterval(24 * 3_600_000)).toBe('1d');
    expect(formatInterval(367 * 86_400_000)).toBe('1y');
    expect(formatInterval(7 * 86_400_000)).toBe('7d');
    expect(formatInterval(14 * 86_400_000)).toBe('14d');
    expect(formatInterval(364 * 86_400_000)).toBe('364d');
    expect(formatInterval(1)).toBe('1ms');
    expect(formatInterval(0.5)).toBe('1ms');
    expect(formatInterval(0)).toBe('1ms');
  });

  it('rejects unknown macros and a $__timeGroup without interval, as Grafana does', () => {
    expect(() => expand('SELECT $__nope(x)')).toThrow('unknown macro');
    expect(() => expand('SELECT $__timeGroup(x)')).toThrow('needs time column and interval');
  });

  it('strips comments first, but not comment markers inside literals', () => {
    expect(stripSqlComments("SELECT '--x' -- $__timeFilter(a)\nFROM t /* $__nope() */")).toBe(
      "SELECT '--x' \nFROM t ",
    );
    expect(stripSqlComments('SELECT $$ -- kept $$, "a--b"')).toBe('SELECT $$ -- kept $$, "a--b"');
    // The unknown macro is inside a comment, so it is never evaluated.
    expect(expand('SELECT 1 -- $__nope(x)')).toBe('SELECT 1 ');
  });
});

describe('template variables (the PostgreSQL datasource formatter, Grafana 12.x/13 after PR #114058)', () => {
  const vars = {
    endpoint: { value: ['chat.completions', 'embeddings'], multi: true, includeAll: true },
    tenant: { value: ["o'brien"], multi: true },
    call_id: { value: "x'; DROP TABLE t; --" },
    empty: { value: [] as string[], multi: true },
    // A multi variable holding a plain string (not what Scenes does, but Grafana's truth table case).
    multiString: { value: "O'Brien", multi: true, includeAll: true },
    allList: { value: ['a', 'b'], multi: true, includeAll: true, all: true },
    allCustom: { value: ['a', 'b'], multi: true, includeAll: true, all: true, allValue: "'__all'" },
    allNested: { value: [], multi: true, includeAll: true, all: true, allValue: '$call_id' },
  };

  it('quotes arrays (multi-value selections, All without a custom value) as a list of literals', () => {
    expect(interpolateVariables('endpoint IN ($endpoint)', vars)).toBe("endpoint IN ('chat.completions','embeddings')");
    expect(interpolateVariables('tenant IN (${tenant})', vars)).toBe("tenant IN ('o''brien')");
    expect(interpolateVariables('x IN ($allList)', vars)).toBe("x IN ('a','b')");
    // Grafana's "should handle empty array": nothing at all, hence the custom all value in our filters.
    expect(interpolateVariables('x IN ([[empty]])', vars)).toBe('x IN ()');
  });

  it('inserts a custom all value verbatim, interpolating variables inside it', () => {
    expect(interpolateVariables("('__all' IN ($allCustom) OR x IN ($allCustom))", vars)).toBe(
      "('__all' IN ('__all') OR x IN ('__all'))",
    );
    // The all value is then interpolated with the default format, glob, not the datasource's: Scenes'
    // sceneInterpolator(context, allValue.formatter(format)) passes no format on. No quote doubling.
    expect(interpolateVariables('$allNested', vars)).toBe("x'; DROP TABLE t; --");
  });

  it('never quotes a string, only escapes its quotes, and leaves $__ names alone', () => {
    expect(interpolateVariables("id = '${call_id}'", vars)).toBe("id = 'x''; DROP TABLE t; --'");
    expect(interpolateVariables("name = '$multiString'", vars)).toBe("name = 'O''Brien'");
    expect(interpolateVariables('$__timeFilter(c) AND $unknown', vars)).toBe('$__timeFilter(c) AND $unknown');
  });

  it('applies an explicit ${var:format} or [[var:format]] instead of the datasource formatter, as Scenes does', () => {
    const v = {
      list: { value: ['a', "o'b", 'c"d'], multi: true },
      one: { value: ['x/y z'], multi: true },
      s: { value: "it's 1.5*2" },
      empty: { value: [] as string[], multi: true },
    };
    const f = (sql: string) => interpolateVariables(sql, v);
    expect(f('${list:raw}|${s:raw}|[[list:raw]]')).toBe(`a,o'b,c"d|it's 1.5*2|a,o'b,c"d`);
    expect(f('${list:csv} ${list:pipe} ${list:join: + } ${empty:csv}|')).toBe(`a,o'b,c"d a|o'b|c"d a + o'b + c"d |`);
    expect(f('${list:glob} ${one:glob} ${s:glob}')).toBe(`{a,o'b,c"d} x/y z it's 1.5*2`);
    expect(f('${list:sqlstring} ${s:sqlstring} [${empty:sqlstring}]')).toBe(`'a','o''b','c\\"d' 'it''s 1.5*2' []`);
    expect(f('${list:singlequote} ${list:doublequote}')).toBe(`'a','o\\'b','c"d' "a","o'b","c\\"d"`);
    expect(f('${s:percentencode} ${one:percentencode} ${list:percentencode}')).toBe(
      'it%27s%201.5%2A2 %7Bx%2Fy%20z%7D %7Ba%2Co%27b%2Cc%22d%7D',
    );
    expect(f('${one:uriencode} ${s:uriencode}')).toBe('%7Bx/y%20z%7D it%27s%201.5%2A2');
    expect(f('${s:regex} ${list:regex} ${one:regex}')).toBe(`it's 1\\.5\\*2 (a|o'b|c"d) x\\/y z`);
    expect(f('${list:json} ${s:json} ${list:distributed}')).toBe(`["a","o'b","c\\"d"] it's 1.5*2 a,list=o'b,list=c"d`);
    expect(f('${list:lucene} ${empty:lucene}')).toBe(`("a" OR "o'b" OR "c\\"d") __empty__`);
    expect(f('${list:html} ${list:text}')).toBe(`a, o&#39;b, c&quot;d a + o'b + c"d`);
  });

  it('formats a custom all value (text, percentencode, else verbatim), then its variables with glob', () => {
    const v = {
      all: { value: ['a', 'b'], multi: true, includeAll: true, all: true, allValue: "'__all'" },
      inner: { value: ['p', 'q'], multi: true },
      nested: { value: [] as string[], multi: true, all: true, allValue: 'x IN ($inner)' },
      listAll: { value: ['a', 'b'], multi: true, includeAll: true, all: true },
    };
    expect(interpolateVariables('${all:text} ${all:percentencode} ${all:csv} ${all:sqlstring}', v)).toBe(
      "All %27__all%27 '__all' '__all'",
    );
    expect(interpolateVariables('$nested', v)).toBe('x IN ({p,q})');
    // "All" without a custom value is the list of options, formatted like any selection.
    expect(interpolateVariables('${listAll:csv} ${listAll:text}', v)).toBe('a,b All');
  });

  it('refuses unknown formats and the ones it does not model, instead of sending other SQL', () => {
    const v = { s: { value: 'x' }, all: { value: ['a'], multi: true, all: true, allValue: '*' } };
    expect(() => interpolateVariables('${s:nope}', v)).toThrow('variable format "nope"');
    expect(() => interpolateVariables('${s:queryparam}', v)).toThrow('"queryparam"');
    expect(() => interpolateVariables('${all:queryparam}', v)).toThrow('"queryparam"');
    expect(() => interpolateVariables('${s.text}', v)).toThrow('field paths');
    expect(() => interpolateVariables('${__from:date:YYYY-MM}', v, range)).toThrow("browser's time zone");
    expect(() => interpolateVariables('${__from:text}', v, range)).toThrow('time zone');
  });

  it('fills in $__from and $__to as the browser does: epoch milliseconds, or the date format asked for', () => {
    const ms = { from: range.from.getTime(), to: range.to.getTime() };
    expect(ms).toEqual({ from: 1523556000000, to: 1523556300000 });
    const f = (sql: string) => interpolateVariables(sql, {}, range);
    expect(f('created_at >= to_timestamp($__from / 1000.0) AND ${__to} > 0 AND [[__to]] > 0')).toBe(
      'created_at >= to_timestamp(1523556000000 / 1000.0) AND 1523556300000 > 0 AND 1523556300000 > 0',
    );
    expect(f("'${__from:date}' '${__from:date:iso}' ${__to:date:seconds} ${__to:date:ms} ${__from:raw}")).toBe(
      "'2018-04-12T18:00:00.000Z' '2018-04-12T18:00:00.000Z' 1523556300 1523556300000 1523556000000",
    );
    // Without a range (a bare interpolateVariables call) nothing is invented.
    expect(interpolateVariables('$__from', {})).toBe('$__from');
    expect(expandQuery('SELECT $__from, $__to', { range })).toBe('SELECT 1523556000000, 1523556300000');
  });

  it("leaves $__range, $__range_s and $__range_ms as written: only Prometheus and Loki define them", () => {
    expect(expandQuery('SELECT $__range, ${__range_s}, [[__range_ms]]', { range })).toBe(
      'SELECT $__range, ${__range_s}, [[__range_ms]]',
    );
  });

  it('runs variables before macros, like the browser before the backend', () => {
    expect(
      expandQuery('WHERE $__timeFilter(created_at) AND endpoint IN ($endpoint)', { range, variables: vars }),
    ).toBe(
      "WHERE created_at BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z' AND endpoint IN ('chat.completions','embeddings')",
    );
  });
});
