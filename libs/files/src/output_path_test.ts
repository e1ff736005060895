import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputPath, describeOutputPathError, type OutputPathError } from './output_path.ts';
import { describeTmpfs, withTmpfs } from './testing.ts';

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpath-'));
  writeFileSync(join(dir, 'a.txt'), 'x');
  mkdirSync(join(dir, 'folder'));
  return dir;
}

describe('checkOutputPath', () => {
  test('a new file or folder, however deep under an existing folder, can be written; the probe is removed', () => {
    const dir = scratch();
    expect(checkOutputPath(join(dir, 'new.json'), 'file')).toBeNull();
    expect(checkOutputPath(join(dir, 'x', 'y', 'z'), 'directory')).toBeNull();
    expect(checkOutputPath(join(dir, 'folder'), 'directory')).toBeNull();
    expect(checkOutputPath(join(dir, 'a.txt'), 'file')).toBeNull();
    expect(readdirSync(dir).sort()).toEqual(['a.txt', 'folder']);
  });

  test('a folder where a file goes, a file where a folder goes, a path under a file, a device: each named', () => {
    const dir = scratch();
    const cases: readonly [string, 'file' | 'directory', OutputPathError['_tag'], string][] = [
      [join(dir, 'folder'), 'file', 'IsDirectory', 'a folder is there, where a file goes; give the path of a file'],
      [join(dir, 'a.txt'), 'directory', 'IsFile', 'a file is there, where a folder goes; give the path of a folder (new or existing)'],
      [join(dir, 'a.txt', 'out.json'), 'file', 'UnderFile', `${join(dir, 'a.txt')} is a file, so nothing can be created under it`],
      [join(dir, 'a.txt', 'deep', 'run'), 'directory', 'UnderFile', `${join(dir, 'a.txt')} is a file, so nothing can be created under it`],
      [
        '/dev/null',
        'file',
        'Special',
        'a device, socket or pipe is there, which the output would replace; give the path of a file or folder',
      ],
    ];
    for (const [path, kind, tag, message] of cases) {
      const e = checkOutputPath(path, kind);
      expect(e?._tag).toBe(tag);
      expect(e === null ? null : describeOutputPathError(e)).toBe(message);
    }
  });
});

describeTmpfs('checkOutputPath on a real read-only or full file system', () => {
  test('read-only, one level down or more: "read-only" (EROFS), naming the folder that cannot be written', async () => {
    await withTmpfs({ kib: 16, readOnly: true }, (dir) => {
      const e = checkOutputPath(join(dir, 'runs', 'r1'), 'directory');
      expect(e?._tag).toBe('NotWritable');
      expect(e === null ? '' : describeOutputPathError(e)).toBe(`cannot write there: ${dir}: the file system is read-only (EROFS, open)`);
    });
  });

  test('full: "no space left" (ENOSPC)', async () => {
    await withTmpfs({ kib: 16 }, (dir) => {
      writeFileSync(join(dir, 'filler'), new Uint8Array(12 * 1024));
      for (let i = 0; ; i++) {
        try {
          writeFileSync(join(dir, `f${i}`), new Uint8Array(1024));
        } catch {
          break;
        }
      }
      const e = checkOutputPath(join(dir, 'predictions.json'), 'file');
      expect(e === null ? '' : describeOutputPathError(e)).toBe(`cannot write there: ${dir}: no space left on the device (ENOSPC, write)`);
    });
  });
});
