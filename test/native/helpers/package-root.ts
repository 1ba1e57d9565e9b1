import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The licensor package root, found from the compiled test file's location (dist/test/...). */
export function packageRoot(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'licensor') {
      return dir;
    }
  }
  throw new Error(`no licensor package.json above ${__dirname}`);
}
