import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  await globalThis.__tollgateTeardown?.();
  if (globalThis.__tollgateSpool) rmSync(globalThis.__tollgateSpool, { recursive: true, force: true });
}
