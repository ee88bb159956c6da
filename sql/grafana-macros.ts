/**
 * Expands a panel query the way Grafana (13.x) does before PostgreSQL sees it, so the SQL tests run
 * exactly the text Grafana would send. Three stages, in Grafana's order:
 *
 * 1. Template variables (browser): Scenes' interpolator (`sceneInterpolator` in @grafana/scenes)
 *    hands each value to the PostgreSQL datasource's `interpolateVariable` (grafana/grafana
 *    `public/app/plugins/datasource/grafana-postgresql-datasource/datasource.ts`, since PR #114058,
 *    backported to 12.0.8/12.1.5/12.2.3/12.3.1; its truth table is `interpolationTruthTable.test.ts`):
 *    - an array (a multi-value selection, or "All" without a custom all value, which Scenes turns into
 *      the list of every option): each value as a Postgres literal (`'a'`, quotes doubled), joined with
 *      `,`, so `IN ($endpoint)` works. An EMPTY array becomes the empty string, so `IN ($x)` would be
 *      `IN ()`, a syntax error: that happens for "All" when the variable has no options (empty log).
 *    - a string, whatever the variable's multi/includeAll flags: the raw text with `'` doubled and no
 *      surrounding quotes, so the query writes the quotes itself: `= '${call_id}'`.
 *    - "All" with a custom all value (`allValue`): that text verbatim, never quoted or escaped, and
 *      interpolated again for variables (Scenes `CustomAllValue`). Our filters use `allValue` `'__all'`
 *      and `('__all' IN ($x) OR col IN ($x))`, so All never depends on the option list.
 *    - `$name`, `${name}`, `${name:format}`, `[[name]]` and `[[name:format]]` (Scenes' VARIABLE_REGEX).
 *      An explicit format replaces the datasource's formatter, with Scenes' `formatRegistry` rules:
 *      `raw`, `csv`, `join[:sep]`, `pipe`, `glob`, `distributed`, `json`, `sqlstring` (`'a','b'`, `'`
 *      doubled, `"` as `\"`), `singlequote`/`doublequote` (backslash-escaped), `percentencode`,
 *      `uriencode`, `regex`, `lucene`, `html`, `text`, `date[:ms|seconds|iso]`. `queryparam`,
 *      `customqueryparam`, a `date` pattern (browser time zone) and `${name.path}` are not modelled,
 *      and an unknown format is an error (Scenes would log it and fall back to `glob`): both throw,
 *      so a test never runs SQL other than Grafana's.
 *    - a custom all value with a format: `text` gives `All`, `percentencode` encodes the all value,
 *      any other format (or none) inserts it verbatim; then the result is interpolated again with
 *      the DEFAULT format, `glob`, not the datasource's (`sceneInterpolator(context, formatter(fmt))`),
 *      so a variable inside an all value is not quote-escaped.
 *    - `$__from` / `$__to` (Scenes' TimeFromAndToMacro): the range's epoch milliseconds, a number, which
 *      the datasource inserts as is; `${__from:date}` / `:date:iso` the UTC ISO time with milliseconds,
 *      `:date:seconds` rounded epoch seconds, `:date:ms` the milliseconds.
 *    - `$__interval` / `$__interval_ms` are scoped variables of the panel's request, so the browser
 *      fills them in already, with the text the backend would give; here stage 2 expands them.
 *    - `$__range`, `$__range_s`, `$__range_ms` are NOT expanded for PostgreSQL: only the Prometheus and
 *      Loki datasources add them to the request's scoped variables, Scenes has no such macro and the
 *      SQL backend does not know them, so Grafana sends them as written and PostgreSQL rejects the
 *      `$`. They are left as written here too; no query in sql/queries uses them.
 *    - every other name beginning with `__` is Grafana's own and is left for the backend.
 * 2. Global backend stage (`sqleng.Interpolate`): `$__interval_ms` (integer milliseconds),
 *    `$__interval` (`gtime.FormatInterval` of grafana-plugin-sdk-go: y, d, h, m, s or ms, no weeks,
 *    `1ms` below one millisecond; the browser's `rangeUtil.secondsToHms` gives the same text),
 *    `$__unixEpochFrom()`, `$__unixEpochTo()` (seconds).
 * 3. Postgres macro engine (`macros.go`):
 *    - SQL comments (`--` to end of line, block comments) are removed first, quote-aware, so a macro
 *      inside a comment is never expanded. Unverified for 13.1: the macros.go we could read
 *      (grafana/grafana@0577088) does not strip comments, later tests reportedly do. No file in
 *      sql/queries has a macro or variable in a comment (tests/sql/queries.test.ts checks), so both
 *      give PostgreSQL the same statement.
 *    - macros match `\$([_a-zA-Z0-9]+)\(([^)]*)\)`: arguments cannot contain `)`; they are split on
 *      every `,` (so no `,` inside an argument either) and trimmed of spaces.
 *    - `$__timeFilter(c)` -> `c BETWEEN 'from' AND 'to'`, times in UTC as Go RFC3339Nano
 *      (`2018-04-12T18:00:00Z`, fractional seconds only when non-zero, trailing zeros dropped).
 *    - `$__timeFrom()`/`$__timeTo()` -> the same quoted timestamps; `$__time(c)` -> `c AS "time"`;
 *      `$__timeEpoch(c)` -> `extract(epoch from c) as "time"`.
 *    - `$__timeGroup(c,'1d'[,fill])` -> `floor(extract(epoch from c)/86400)*86400`; the interval is
 *      the argument without `'`, parsed like Go's gtime.ParseInterval (`d`,`w`,`M`,`y` are calendar
 *      units added to "now" in the server's zone; we assume a UTC server, so `1d` is 86400 and `1M`
 *      depends on the current month), and printed with Go's `%v` for float64 (`1.0368e+06` for
 *      12 days, exponent form from 1e6 up). The fill argument never changes the SQL text.
 *    - if the text of a `$__timeGroup(...)` call is directly followed by `,` at its FIRST occurrence
 *      in the query, every identical call becomes `$__timeGroupAlias` (pre-5.3 compatibility), which
 *      appends ` AS "time"`.
 *    - `$__unixEpochFilter(c)` -> `c >= <from s> AND c <= <to s>`; `$__unixEpochNanoFilter`,
 *      `$__unixEpochNanoFrom()`, `$__unixEpochNanoTo()` likewise in nanoseconds;
 *      `$__unixEpochGroup(c,'5m')` -> `floor((c)/300)*300`, `...Alias` adds ` AS "time"`.
 *    - TimescaleDB (off in our datasource) would turn `$__timeGroup` into `time_bucket(...)`.
 *    - any other `$__name(...)` is an error (`unknown macro`), as in Grafana.
 */

export interface TimeRange {
  from: Date;
  to: Date;
}

export interface Variable {
  /** One value, or several for a multi-value variable (Scenes keeps a multi variable's value an array). */
  value: string | string[];
  multi?: boolean;
  includeAll?: boolean;
  /** "All" is selected: the custom all value if there is one, else `value` (the list of all options). */
  all?: boolean;
  allValue?: string;
}

export interface ExpandOptions {
  range: TimeRange;
  variables?: Record<string, Variable>;
  /** The query's interval (Grafana computes it from range and width); defaults to 1 minute. */
  intervalMs?: number;
  /** Only used for calendar intervals (`1M`, `1y`): Grafana adds them to the server's "now". */
  now?: Date;
}

/** Go's time.Format(time.RFC3339Nano) of a UTC instant. JS dates carry milliseconds at most. */
export function rfc3339Nano(d: Date): string {
  const iso = d.toISOString(); // 2018-04-12T18:00:00.000Z
  const [main, frac = ''] = iso.slice(0, -1).split('.');
  const trimmed = frac.replace(/0+$/, '');
  return `${main}${trimmed ? `.${trimmed}` : ''}Z`;
}

/** Go's fmt `%v` for a float64 (strconv 'g' with the shortest precision, exponent when < 1e-4 or >= 1e21... and >= 1e6). */
export function goFloat(x: number): string {
  if (x === 0) {
    return '0';
  }
  const [mantissa, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  // With the shortest precision Go switches to %e when exp < -4 || exp >= 6 (eprec is forced to 6).
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(x);
}

const GO_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** gtime.ParseInterval, in milliseconds. */
export function parseInterval(text: string, now: Date = new Date()): number {
  const calendar = /^(\d+)([dwMy])$/.exec(text);
  if (calendar) {
    const n = Number(calendar[1]);
    const unit = calendar[2];
    const later = new Date(now.getTime());
    if (unit === 'd') {
      later.setUTCDate(later.getUTCDate() + n);
    } else if (unit === 'w') {
      later.setUTCDate(later.getUTCDate() + 7 * n);
    } else if (unit === 'M') {
      later.setUTCMonth(later.getUTCMonth() + n);
    } else {
      later.setUTCFullYear(later.getUTCFullYear() + n);
    }
    return later.getTime() - now.getTime();
  }
  // time.ParseDuration: a sequence of decimal numbers with units, e.g. 1h30m, 1.5s.
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let ms = 0;
  let pos = 0;
  if (text === '' || text === '0') {
    if (text === '0') {
      return 0;
    }
    throw new Error(`error parsing interval ${text}`);
  }
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (!m) {
      throw new Error(`error parsing interval ${text}`);
    }
    ms += Number(m[1]) * (GO_UNITS[m[2] as string] as number);
    pos = part.lastIndex;
  }
  return ms;
}

/**
 * grafana-plugin-sdk-go's gtime.FormatInterval: the largest whole unit of y (365 days), d, h, m, s and
 * ms, so 7 days is `7d` (there is no week unit), and anything under a millisecond is `1ms`.
 */
export function formatInterval(ms: number): string {
  const units: Array<[string, number]> = [
    ['y', 31_536_000_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  for (const [unit, size] of units) {
    if (ms >= size) {
      return `${Math.floor(ms / size)}${unit}`;
    }
  }
  return '1ms';
}

function quoteLiteral(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/** The value a format is given: a variable's text or list, or a time macro's epoch milliseconds. */
type Value = string | string[] | number;

/** The PostgreSQL datasource's `interpolateVariable`, the default format of every panel query. */
function postgresFormat(value: Value): string {
  if (typeof value === 'number') {
    return String(value);
  }
  if (Array.isArray(value)) {
    // An empty array joins to '' (Grafana's own test: "should handle empty array").
    return value.map(quoteLiteral).join(',');
  }
  // A string is never quoted by the Postgres datasource, whatever multi/includeAll say.
  return value.replace(/'/g, "''");
}

/** Scenes' encodeURIComponentStrict / encodeURIStrict: also `!'()*`. */
const strictly = (encoded: string): string =>
  encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const escapeRegex = (v: string): string => v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
const luceneEscape = (v: string): string =>
  Number.isNaN(Number(v)) ? v.replace(/([!*+\-=<>\s&|()[\]{}^~?:\\/"])/g, '\\$1') : v;
const escapeHtml = (v: string): string =>
  v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&#39;').replace(/"/g, '&quot;');
const joined = (value: Value, sep: string): string => (Array.isArray(value) ? value.join(sep) : String(value));
const quoted = (value: Value, quote: (v: string) => string): string =>
  (Array.isArray(value) ? value : [String(value)]).map(quote).join(',');

/** Scenes' formatRegistry (variables/interpolation/formatRegistry.ts), the formats a query may name. */
const FORMATS: Record<string, (value: Value, args: string[], name: string, text: () => string) => string> = {
  raw: (value) => String(value),
  csv: (value) => joined(value, ','),
  join: (value, args) => joined(value, args[0] ?? ','),
  pipe: (value) => joined(value, '|'),
  glob: (value) => (Array.isArray(value) && value.length > 1 ? `{${value.join(',')}}` : String(value)),
  distributed: (value, _args, name) => (Array.isArray(value) ? value.map((v, i) => (i === 0 ? v : `${name}=${v}`)).join(',') : String(value)),
  json: (value) => (typeof value === 'string' ? value : JSON.stringify(value)),
  sqlstring: (value) => quoted(value, (v) => `'${v.replace(/'|"/g, (q) => (q === "'" ? "''" : '\\"'))}'`),
  singlequote: (value) => quoted(value, (v) => `'${v.replace(/'/g, "\\'")}'`),
  doublequote: (value) => quoted(value, (v) => `"${v.replace(/"/g, '\\"')}"`),
  percentencode: (value) => strictly(encodeURIComponent(Array.isArray(value) ? `{${value.join(',')}}` : String(value))),
  uriencode: (value) => strictly(encodeURI(Array.isArray(value) ? `{${value.join(',')}}` : String(value))),
  regex: (value) => {
    const escaped = (Array.isArray(value) ? value : [String(value)]).map(escapeRegex);
    return Array.isArray(value) && escaped.length !== 1 ? `(${escaped.join('|')})` : (escaped[0] ?? '');
  },
  lucene: (value) => {
    if (!Array.isArray(value)) {
      return luceneEscape(String(value));
    }
    return value.length === 0 ? '__empty__' : `(${value.map((v) => `"${luceneEscape(v)}"`).join(' OR ')})`;
  },
  html: (value) => escapeHtml(Array.isArray(value) ? value.join(', ') : String(value)),
  text: (_value, _args, _name, text) => text(),
  date: (value, args) => {
    const ms = typeof value === 'number' ? value : parseInt(String(value), 10);
    if (Number.isNaN(ms)) {
      return 'NaN';
    }
    const arg = args[0] ?? 'iso';
    if (arg === 'ms') {
      return String(value);
    }
    if (arg === 'seconds') {
      return String(Math.round(ms / 1000));
    }
    if (arg === 'iso') {
      return new Date(ms).toISOString();
    }
    throw new Error(`date format "${args.join(':')}" is the browser's time zone, not modelled here`);
  },
};

/**
 * Applies a format: a name from a `${name:format}` (with `:`-separated arguments), or, with none,
 * `fallback` (the datasource's function at the top level, `glob` inside a custom all value).
 */
function applyFormat(value: Value, format: string | undefined, fallback: string | undefined, name: string, text: () => string): string {
  const spec = format ?? fallback;
  if (spec === undefined) {
    return postgresFormat(value);
  }
  const [id = '', ...args] = spec.split(':');
  const formatter = FORMATS[id];
  if (!formatter) {
    throw new Error(`variable format "${id}" (in $${name}) is unknown or not modelled here`);
  }
  return formatter(value, args, name, text);
}

function formatVariable(v: Variable, name: string, format: string | undefined, fallback: string | undefined, ctx: Context): string {
  if (v.all && v.allValue !== undefined) {
    // Scenes' CustomAllValue.formatter, then the text is interpolated again with the default format.
    let text = v.allValue;
    if (format === 'text') {
      text = 'All';
    } else if (format === 'percentencode') {
      text = FORMATS.percentencode!(v.allValue, [], name, () => v.allValue!);
    } else if (format === 'queryparam') {
      throw new Error(`variable format "queryparam" (in $${name}) is not modelled here`);
    }
    return interpolate(text, ctx, 'glob');
  }
  // MultiValueVariable.getValueText: the option texts joined with ' + ' ("All" for All).
  const text = () => (v.all ? 'All' : [v.value].flat().join(' + '));
  return applyFormat(v.value, format, fallback, name, text);
}

interface Context {
  variables: Record<string, Variable>;
  range?: TimeRange;
}

/** Scenes' VARIABLE_REGEX: `$name`, `[[name]]`/`[[name:fmt]]`, `${name}`/`${name.path}`/`${name:fmt}`. */
const VARIABLE_REGEX = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

function interpolate(sql: string, ctx: Context, fallback: string | undefined): string {
  return sql.replace(
    VARIABLE_REGEX,
    (match, a?: string, b?: string, fmt2?: string, c?: string, path?: string, fmt3?: string) => {
      const name = (a ?? b ?? c) as string;
      const format = fmt2 ?? fmt3;
      if ((name === '__from' || name === '__to') && ctx.range) {
        // TimeFromAndToMacro ignores a field path.
        const ms = (name === '__from' ? ctx.range.from : ctx.range.to).getTime();
        return applyFormat(ms, format, fallback, name, () => {
          throw new Error(`$${name} with the text format is the dashboard's time zone, not modelled here`);
        });
      }
      const v = name.startsWith('__') ? undefined : ctx.variables[name];
      if (v === undefined) {
        return match;
      }
      if (path !== undefined) {
        throw new Error(`\${${name}.${path}}: field paths of variables are not modelled here`);
      }
      return formatVariable(v, name, format, fallback, ctx);
    }
  );
}

/**
 * Stage 1: template variables and the `$__from`/`$__to` macros, as the browser fills them in before
 * the query goes to the backend. Other `$__...` names are Grafana's and stay for the backend.
 */
export function interpolateVariables(sql: string, variables: Record<string, Variable>, range?: TimeRange): string {
  return interpolate(sql, { variables, range }, undefined);
}

/** Stage 3, first step: quote-aware removal of SQL comments (Grafana strips them before macros). */
export function stripSqlComments(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  const copyQuoted = (q: string): void => {
    out += q;
    i++;
    while (i < n) {
      const ch = sql[i] as string;
      out += ch;
      i++;
      if (ch === q) {
        if (sql[i] === q) {
          out += q;
          i++;
        } else {
          return;
        }
      }
    }
  };
  while (i < n) {
    const ch = sql[i] as string;
    if (ch === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const closing = tag[0];
        const end = sql.indexOf(closing, i + closing.length);
        const stop = end < 0 ? n : end + closing.length;
        out += sql.slice(i, stop);
        i = stop;
      } else {
        out += ch;
        i++;
      }
    } else if (ch === "'" || ch === '"') {
      copyQuoted(ch);
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (ch === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') {
        i++;
      }
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function groupSeconds(args: string[], name: string, now: Date): number {
  if (args.length < 2) {
    throw new Error(`macro ${name} needs time column and interval and optional fill value`);
  }
  const ms = parseInterval((args[1] as string).replace(/^'+|'+$/g, ''), now);
  if (ms <= 0) {
    throw new Error(`interval must be positive, got ${args[1]}`);
  }
  return ms / 1000;
}

function evaluateMacro(name: string, args: string[], range: TimeRange, now: Date): string {
  const col = args[0] ?? '';
  const from = rfc3339Nano(range.from);
  const to = rfc3339Nano(range.to);
  const unix = (d: Date): number => Math.floor(d.getTime() / 1000);
  const nano = (d: Date): string => (BigInt(d.getTime()) * 1_000_000n).toString();
  switch (name) {
    case '__time':
      return `${col} AS "time"`;
    case '__timeEpoch':
      return `extract(epoch from ${col}) as "time"`;
    case '__timeFilter':
      return `${col} BETWEEN '${from}' AND '${to}'`;
    case '__timeFrom':
      return `'${from}'`;
    case '__timeTo':
      return `'${to}'`;
    case '__timeGroup': {
      const s = goFloat(groupSeconds(args, name, now));
      return `floor(extract(epoch from ${col})/${s})*${s}`;
    }
    case '__timeGroupAlias':
      return `${evaluateMacro('__timeGroup', args, range, now)} AS "time"`;
    case '__unixEpochFilter':
      return `${col} >= ${unix(range.from)} AND ${col} <= ${unix(range.to)}`;
    case '__unixEpochNanoFilter':
      return `${col} >= ${nano(range.from)} AND ${col} <= ${nano(range.to)}`;
    case '__unixEpochNanoFrom':
      return nano(range.from);
    case '__unixEpochNanoTo':
      return nano(range.to);
    case '__unixEpochGroup': {
      const s = goFloat(groupSeconds(args, name, now));
      return `floor((${col})/${s})*${s}`;
    }
    case '__unixEpochGroupAlias':
      return `${evaluateMacro('__unixEpochGroup', args, range, now)} AS "time"`;
    default:
      throw new Error(`unknown macro "${name}"`);
  }
}

/** Stages 2 and 3: what Grafana's Postgres backend does to the already-interpolated text. */
export function expandMacros(sql: string, opts: ExpandOptions): string {
  const now = opts.now ?? new Date();
  const intervalMs = opts.intervalMs ?? 60_000;
  let text = sql
    .split('$__interval_ms')
    .join(String(Math.trunc(intervalMs)))
    .split('$__interval')
    .join(formatInterval(intervalMs))
    .split('$__unixEpochFrom()')
    .join(String(Math.floor(opts.range.from.getTime() / 1000)))
    .split('$__unixEpochTo()')
    .join(String(Math.floor(opts.range.to.getTime() / 1000)));
  text = stripSqlComments(text);
  const source = text;
  return source.replace(/\$([_a-zA-Z0-9]+)\(([^)]*)\)/g, (whole, rawName: string, params: string) => {
    let name = rawName;
    if (name === '__timeGroup') {
      const at = source.indexOf(whole);
      if (at >= 0 && source[at + whole.length] === ',') {
        name = '__timeGroupAlias';
      }
    }
    const args = params.split(',').map((a) => a.replace(/^ +| +$/g, ''));
    return evaluateMacro(name, args, opts.range, now);
  });
}

/** The whole pipeline: what PostgreSQL receives for this panel query in Grafana. */
export function expandQuery(sql: string, opts: ExpandOptions): string {
  return expandMacros(interpolateVariables(sql, opts.variables ?? {}, opts.range), opts);
}
