import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTmpfs, withTmpfs } from './testing.ts';
import { replaceDirectory, writeFileAtomic } from './atomic.ts';
import { systemError } from './system_error.ts';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'atomic-'));
}

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return systemError(e)?.code ?? `not a system error: ${String(e)}`;
  }
}

describe('writeFileAtomic', () => {
  test('writes a new file and replaces an old one, leaving no temporary file', () => {
    const dir = scratch();
    writeFileAtomic(join(dir, 'a.json'), '{"v":1}\n');
    writeFileAtomic(join(dir, 'a.json'), new Uint8Array([123, 125, 10]));
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{}\n');
    expect(readdirSync(dir)).toEqual(['a.json']);
  });

  test('a folder where the file goes fails with EISDIR, and neither the folder nor a temporary file is left changed', () => {
    const dir = scratch();
    mkdirSync(join(dir, 'out.json'));
    writeFileSync(join(dir, 'out.json', 'keep'), 'x');
    expect(codeOf(() => writeFileAtomic(join(dir, 'out.json'), 'data'))).toBe('EISDIR');
    expect(readdirSync(dir)).toEqual(['out.json']);
    expect(readdirSync(join(dir, 'out.json'))).toEqual(['keep']);
  });
});

describe('replaceDirectory', () => {
  test('replaces a folder by exactly the given files', () => {
    const dir = scratch();
    replaceDirectory(
      join(dir, 'model'),
      new Map([
        ['a', 'one'],
        ['b', 'two'],
      ]),
    );
    replaceDirectory(join(dir, 'model'), new Map([['c', new Uint8Array([51])]]));
    expect(readdirSync(join(dir, 'model'))).toEqual(['c']);
    expect(readFileSync(join(dir, 'model', 'c'), 'utf8')).toBe('3');
    expect(readdirSync(dir)).toEqual(['model']);
  });

  test('a write that fails half-way leaves the previous folder whole and no temporary folder', () => {
    const dir = scratch();
    replaceDirectory(join(dir, 'model'), new Map([['a', 'old']]));
    // The second name needs a subfolder the writer does not create: ENOENT after 'a' was written.
    expect(
      codeOf(() =>
        replaceDirectory(
          join(dir, 'model'),
          new Map([
            ['a', 'new'],
            ['sub/b', 'x'],
          ]),
        ),
      ),
    ).toBe('ENOENT');
    expect(readdirSync(dir)).toEqual(['model']);
    expect(readFileSync(join(dir, 'model', 'a'), 'utf8')).toBe('old');
  });
});

describeTmpfs('on a real small file system (a tmpfs mounted for the test)', () => {
  test('a full disk: ENOSPC, the previous file intact, no temporary file left', async () => {
    await withTmpfs({ kib: 64 }, (dir) => {
      writeFileAtomic(join(dir, 'metrics.jsonl'), 'epoch 1\n');
      expect(codeOf(() => writeFileAtomic(join(dir, 'metrics.jsonl'), 'x'.repeat(256 * 1024)))).toBe('ENOSPC');
      expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe('epoch 1\n');
      expect(readdirSync(dir)).toEqual(['metrics.jsonl']);
      expect(codeOf(() => replaceDirectory(join(dir, 'model'), new Map([['weights.bin', new Uint8Array(256 * 1024)]])))).toBe('ENOSPC');
      expect(readdirSync(dir)).toEqual(['metrics.jsonl']);
    });
  });

  test('a read-only file system: EROFS, nothing written', async () => {
    await withTmpfs({ kib: 64, readOnly: true }, (dir) => {
      expect(codeOf(() => writeFileAtomic(join(dir, 'a.json'), '{}'))).toBe('EROFS');
      expect(codeOf(() => replaceDirectory(join(dir, 'model'), new Map([['a', 'x']])))).toBe('EROFS');
      expect(readdirSync(dir)).toEqual([]);
    });
  });
});
