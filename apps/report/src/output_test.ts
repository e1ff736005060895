import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { tempDir } from '@resnet/results/testing';
import { checkOut, writeOutput } from './output.ts';

describe('the output directory', () => {
  test('may be new, a previous report, or a folder without the report’s names (such as the runs folder); a file or a foreign summary.md or charts/ is refused', () => {
    const root = tempDir();
    expect(checkOut(join(root, 'new'))).toEqual(E.right(undefined));
    mkdirSync(join(root, 'empty'));
    expect(checkOut(join(root, 'empty'))).toEqual(E.right(undefined));
    mkdirSync(join(root, 'old'));
    writeFileSync(join(root, 'old', 'report.md'), '# old');
    writeFileSync(join(root, 'old', 'summary.md'), 'old');
    expect(checkOut(join(root, 'old'))).toEqual(E.right(undefined));
    mkdirSync(join(root, 'runs', 'resnet18'), { recursive: true });
    writeFileSync(join(root, 'runs', 'notes.txt'), 'mine');
    expect(checkOut(join(root, 'runs'))).toEqual(E.right(undefined));
    mkdirSync(join(root, 'other', 'charts'), { recursive: true });
    expect(checkOut(join(root, 'other'))).toEqual(
      E.left(
        `--out=${join(root, 'other')} holds charts but no report.md, so they are not a previous report: choose another --out, or remove them first`,
      ),
    );
    expect(checkOut(join(root, 'runs', 'notes.txt'))).toEqual(
      E.left(`--out=${join(root, 'runs', 'notes.txt')} is a file: choose a new directory, or a previous report directory to replace`),
    );
  });

  test('is written whole, replaces a previous report’s files, keeps everything else there, and leaves no temporary folder', () => {
    const root = tempDir();
    const out = join(root, 'deep', 'report');
    mkdirSync(join(out, 'resnet18'), { recursive: true });
    writeFileSync(join(out, 'resnet18', 'config.json'), '{}');
    expect(
      writeOutput(out, [
        { path: 'report.md', data: '# one' },
        { path: 'summary.md', data: 'one' },
        { path: 'charts/a.svg', data: '<svg/>' },
      ]),
    ).toEqual(E.right(undefined));
    expect(readdirSync(out).sort()).toEqual(['charts', 'report.md', 'resnet18', 'summary.md']);
    expect(writeOutput(out, [{ path: 'report.md', data: '# two' }])).toEqual(E.right(undefined));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toBe('# two');
    expect(readdirSync(out).sort()).toEqual(['report.md', 'resnet18']);
    expect(readFileSync(join(out, 'resnet18', 'config.json'), 'utf8')).toBe('{}');
  });

  test('a file outside the report’s names is refused before anything is written', () => {
    const out = join(tempDir(), 'report');
    expect(
      writeOutput(out, [
        { path: 'report.md', data: '#' },
        { path: 'notes.txt', data: 'x' },
      ]),
    ).toEqual(E.left(`cannot write ${join(out, 'notes.txt')}: a report writes only report.md, summary.md, charts`));
    expect(existsSync(out)).toBe(false);
  });

  test('a failed write leaves the previous report as it was and no temporary folder', () => {
    const out = join(tempDir(), 'report');
    expect(
      writeOutput(out, [
        { path: 'report.md', data: '# one' },
        { path: 'charts/a.svg', data: '<svg/>' },
      ]),
    ).toEqual(E.right(undefined));
    // `charts` as a file and then a file inside it: the second write fails (ENOTDIR), as root too.
    const failed = writeOutput(out, [
      { path: 'report.md', data: '# two' },
      { path: 'charts', data: 'x' },
      { path: 'charts/b.svg', data: '<svg/>' },
    ]);
    expect(failed).toEqual(E.left(expect.stringContaining(`cannot write ${out}: `)));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toBe('# one');
    expect(readdirSync(out).sort()).toEqual(['charts', 'report.md']);
    expect(readdirSync(join(out, 'charts'))).toEqual(['a.svg']);
  });
});
