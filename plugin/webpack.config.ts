import type { Configuration } from 'webpack';
import { merge } from 'webpack-merge';
import grafanaConfig, { type Env } from './.config/webpack/webpack.config.ts';

// The panels' SQL lives once, in ../sql/queries/*.sql, shared with the dashboard generator and the
// SQL tests; importing a .sql file inlines its text into the bundle, so nothing is copied by hand.
const config = async (env: Env): Promise<Configuration> => {
  const baseConfig = await grafanaConfig(env);
  return merge(baseConfig, {
    module: {
      rules: [{ test: /\.sql$/, type: 'asset/source' }],
    },
  });
};

export default config;
