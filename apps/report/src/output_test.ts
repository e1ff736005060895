import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { tempDir } from '@resnet/results/testing';
import { checkOut, writeOutput } from './output.ts';

describe('the output directory', () => {
  test('may be new, empty, or a previous report; a file or other content is refused', () => {
    const root = tempDir();
    expect(checkOut(join(root, 'new'))).toEqual(E.right(undefined));
    mkdirSync(join(root, 'empty'));
    expect(checkOut(join(root, 'empty'))).toEqual(E.right(undefined));
    mkdirSync(join(root, 'old'));
    writeFileSync(join(root, 'old', 'report.md'), '# old');
    expect(checkOut(join(root, 'old'))).toEqual(E.right(undefined));
    mkdirSync(join(root, 'other'));
    writeFileSync(join(root, 'other', 'notes.txt'), 'mine');
    expect(checkOut(join(root, 'other'))).toEqual(E.left(`--out=${join(root, 'other')} exists and is not a report directory (no report.md): choose a new --out, or remove ${join(root, 'other')} first`));
    expect(checkOut(join(root, 'other', 'notes.txt'))).toEqual(E.left(`--out=${join(root, 'other', 'notes.txt')} is a file: choose a new directory, or a previous report directory to replace`));
  });

  test('is written whole, replaces a previous report, and leaves no temporary directory', () => {
    const root = tempDir();
    const out = join(root, 'deep', 'report');
    expect(writeOutput(out, [{ path: 'report.md', data: '# one' }, { path: 'charts/a.svg', data: '<svg/>' }])).toEqual(E.right(undefined));
    expect(writeOutput(out, [{ path: 'report.md', data: '# two' }])).toEqual(E.right(undefined));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toBe('# two');
    expect(existsSync(join(out, 'charts'))).toBe(false);
    expect(readdirSync(join(root, 'deep'))).toEqual(['report']);
  });
});
