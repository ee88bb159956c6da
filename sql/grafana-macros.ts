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
 *    - `$name`, `${name}`, `${name:format}` and `[[name]]`; names beginning with `__` are Grafana's own
 *      and are left for the backend.
 * 2. Global backend stage (`sqleng.Interpolate`): `$__interval_ms` (integer milliseconds),
 *    `$__interval` (`gtime.FormatInterval`), `$__unixEpochFrom()`, `$__unixEpochTo()` (seconds).
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

/** gtime.FormatInterval: the largest whole unit (y, w, d, h, m, s, else ms). */
export function formatInterval(ms: number): string {
  const units: Array<[string, number]> = [
    ['y', 31_536_000_000],
    ['w', 604_800_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [unit, size] of units) {
    if (ms >= size) {
      return `${Math.floor(ms / size)}${unit}`;
    }
  }
  return `${Math.floor(ms)}ms`;
}

function quoteLiteral(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

function formatVariable(v: Variable, variables: Record<string, Variable>): string {
  if (v.all && v.allValue !== undefined) {
    // CustomAllValue: verbatim, then interpolated again (it may name other variables).
    return interpolateVariables(v.allValue, variables);
  }
  if (Array.isArray(v.value)) {
    // An empty array joins to '' (Grafana's own test: "should handle empty array").
    return v.value.map(quoteLiteral).join(',');
  }
  // A string is never quoted by the Postgres datasource, whatever multi/includeAll say.
  return v.value.replace(/'/g, "''");
}

/** Stage 1: template variables. `$__...` names are Grafana's and stay for the backend. */
export function interpolateVariables(sql: string, variables: Record<string, Variable>): string {
  // Same three syntaxes as Grafana's template service variable regex.
  const re = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;
  return sql.replace(re, (match, a?: string, b?: string, _f1?: string, c?: string) => {
    const name = a ?? b ?? c;
    if (!name || name.startsWith('__')) {
      return match;
    }
    const v = variables[name];
    return v === undefined ? match : formatVariable(v, variables);
  });
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
  return expandMacros(interpolateVariables(sql, opts.variables ?? {}), opts);
}
