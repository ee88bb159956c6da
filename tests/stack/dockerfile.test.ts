import { read } from './composeFile.js';

/** Dockerfile stages with their instructions (continuation lines joined, comments dropped). */
function dockerStages(text: string): Map<string, string[]> {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of lines) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) {
      current = [];
      stages.set(from[1] ?? `stage${stages.size}`, current);
    }
    current?.push(line);
  }
  return stages;
}

/** The npm install and build commands of a stage's RUN lines, in order (`npm cache clean` is housekeeping). */
function npmCommands(instructions: string[]): string[] {
  return instructions
    .filter((l) => /^RUN\s/i.test(l))
    .flatMap((l) => l.replace(/^RUN\s+/i, '').split('&&'))
    .map((c) => c.trim())
    .filter((c) => /^npm\s+(ci|install|i|run\s+build)\b/.test(c));
}

/** `npm …` lines of the sh blocks in one README section, block by block. */
function readmeBlocks(text: string, heading: string): string[][] {
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no "## ${heading}" section`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l.startsWith('npm ')),
  );
}

describe('Dockerfile', () => {
  const stages = dockerStages(read('Dockerfile'));

  it("builds with exactly the README's install and build commands", () => {
    const [build, runtime] = readmeBlocks(read('README.md'), 'Building from source');
    expect(npmCommands(stages.get('build')!)).toEqual(build);
    expect(npmCommands(stages.get('runtime')!)).toEqual(runtime);
    expect(build).toEqual(['npm ci', 'npm run build']);
    expect(runtime).toEqual(['npm ci --omit=dev --workspace proxy']);
    // The parser does see a drifted command.
    expect(npmCommands(['RUN npm install && npm run build:all', 'RUN npm cache clean --force'])).toEqual(['npm install', 'npm run build:all']);
  });

  it('runs the proxy from a multi-stage, production-only, non-root image with a readiness healthcheck', () => {
    expect([...stages.keys()]).toEqual(['build', 'plugin', 'runtime']);
    const runtime = stages.get('runtime')!;
    const last = (prefix: string) => [...runtime].reverse().find((l) => l.startsWith(prefix));
    // Nothing from the build stage but the compiled proxy; migrations from the sources.
    expect(runtime.filter((l) => l.startsWith('COPY --from='))).toEqual(['COPY --from=build /app/proxy/dist proxy/dist']);
    expect(runtime).toContain('COPY sql/migrations sql/migrations');
    expect(runtime).toContain('ENV NODE_ENV=production');
    expect(last('USER ')).toBe('USER node');
    expect(last('HEALTHCHECK ')).toMatch(/\/readyz/);
    expect(last('STOPSIGNAL ')).toBe('STOPSIGNAL SIGTERM');
    expect(last('CMD ')).toBe('CMD ["node", "proxy/dist/main.js"]');
    // The slim image has no curl: the healthcheck must not need one.
    expect(last('HEALTHCHECK ')).not.toMatch(/curl|wget/);
  });

  it('keeps host builds, dependencies and secrets out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const p of ['**/node_modules', '**/dist', '.git', '**/.env', '.tollgate']) expect([p, ignored.includes(p)]).toEqual([p, true]);
  });
});
