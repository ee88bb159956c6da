import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** In the compose stack the call log's spool outlives the container: SPOOL_DIR is on a named volume. */
describe('docker-compose.yml: the spool on a named volume', () => {
  it("puts the proxy's SPOOL_DIR inside a named volume declared at the top level", () => {
    const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
      services: Record<string, { environment?: Record<string, string>; volumes?: string[] }>;
      volumes: Record<string, unknown>;
    };
    const proxy = compose.services.proxy!;
    const spoolDir = proxy.environment?.SPOOL_DIR;
    expect(spoolDir).toMatch(/^\//);
    const mount = (proxy.volumes ?? []).map((v) => v.split(':')).find(([, target]) => spoolDir === target || spoolDir!.startsWith(`${target}/`));
    expect(mount).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(mount![0]);
  });
});
