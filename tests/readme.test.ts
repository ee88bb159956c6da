import { readFileSync } from 'node:fs';
import { configSchema } from '../proxy/src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const configSection = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Architecture'));

describe('README', () => {
  it('documents every configuration variable the proxy reads, and no other', () => {
    const documented = [...configSection.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it('states each default the way the schema has it', () => {
    const defaults = configSchema.parse({}) as Record<string, unknown>;
    for (const [name, value] of Object.entries(defaults)) {
      if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
      const row = new RegExp(`^\\| \`${name}\` \\| \`([^\`]*)\``, 'm').exec(configSection);
      expect([name, row?.[1]]).toEqual([name, String(value)]);
    }
  });

  it('gives the two-command quick start and the test command', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toMatch(/^npm test\b/m);
  });
});
