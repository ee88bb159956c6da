// Builds the Grafana shell stand-in (host.tsx) into tests/shell/dist/host.js with the real
// @grafana/* packages from node_modules. A filesystem cache makes a rebuild take seconds.
// Usage: node plugin/tests/shell/build.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import webpack from 'webpack';

const here = path.dirname(fileURLToPath(import.meta.url));
const runtimeDir = path.dirname(createRequire(import.meta.url).resolve('@grafana/runtime/package.json'));

export function buildShell() {
  const compiler = webpack({
    mode: 'production',
    optimization: { minimize: false },
    devtool: false,
    context: here,
    entry: './host.tsx',
    output: { path: path.join(here, 'dist'), filename: 'host.js', clean: true },
    cache: { type: 'filesystem', cacheDirectory: path.join(here, '../../node_modules/.cache/tollgate-shell') },
    resolve: {
      extensions: ['.tsx', '.ts', '.mjs', '.js', '.json'],
      fallback: { fs: false, path: false, os: false },
      // Grafana's core sets the PluginPage component through a module @grafana/runtime does not export:
      // the same file its index imports, so one and the same instance.
      alias: { 'grafana-runtime-plugin-page$': path.join(runtimeDir, 'dist/esm/components/PluginPage.mjs') },
    },
    module: {
      rules: [
        { test: /\.m?js$/, resolve: { fullySpecified: false } },
        {
          test: /\.tsx?$/,
          exclude: /node_modules/,
          use: { loader: 'swc-loader', options: { jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic', development: false } }, target: 'es2022' } } },
        },
        { test: /\.css$/, use: ['style-loader', 'css-loader'] },
        { test: /\.(svg|png|woff2?|ttf|eot)$/, type: 'asset/inline' },
      ],
    },
    plugins: [new webpack.DefinePlugin({ 'process.env.NODE_ENV': JSON.stringify('production') })],
    performance: { hints: false },
    stats: 'errors-only',
    infrastructureLogging: { level: 'error' },
  });
  return new Promise((resolve, reject) => {
    compiler.run((err, stats) => {
      compiler.close(() => undefined);
      if (err) {
        reject(err);
      } else if (stats.hasErrors()) {
        reject(new Error(stats.toString('errors-only')));
      } else {
        resolve(path.join(here, 'dist', 'host.js'));
      }
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t = Date.now();
  buildShell().then(
    (file) => console.log(`shell built: ${file} in ${Date.now() - t} ms`),
    (e) => {
      console.error(e.message ?? e);
      process.exit(1);
    },
  );
}
