import { appArgs, appArgsFromNxCommandLine } from './nx_args.ts';

const nx = ['/usr/bin/node', '/w/node_modules/.bin/nx'];

describe('recovering app flags that nx swallowed', () => {
  test('flags nx would eat (--batch-size) are recovered; nx’s own options are not', () => {
    expect(appArgsFromNxCommandLine([...nx, 'run', 'train:serve', '--variant=18', '--batch-size=64', '--verbose', '--skip-nx-cache', '--output-style', 'static'], 'train:serve')).toEqual([
      '--variant=18',
      '--batch-size=64',
    ]);
  });

  test('the infix form and `--` are understood; a value given separately stays with its flag', () => {
    expect(appArgsFromNxCommandLine([...nx, 'serve', 'train', '--epochs', '2', '--', '--lr=0.1'], 'train:serve')).toEqual(['--epochs', '2', '--lr=0.1']);
  });

  test('another target or a command line without nx gives null', () => {
    expect(appArgsFromNxCommandLine([...nx, 'run', 'table:serve', '--input=96'], 'train:serve')).toBeNull();
    expect(appArgsFromNxCommandLine(['/usr/bin/node', 'main.ts', '--input=96'], 'train:serve')).toBeNull();
  });

  test('under nx, the recovered flags are used only when they contain every flag the app received', () => {
    const saved = process.env['NX_TASK_TARGET_PROJECT'];
    process.env['NX_TASK_TARGET_PROJECT'] = 'train';
    try {
      const ancestors = () => [['/bin/sh', '-c', 'tsx main.ts --variant=18'], [...nx, 'run', 'train:serve', '--variant=18', '--batch-size=64']];
      expect(appArgs(['--variant=18'], 'train:serve', ancestors)).toEqual(['--variant=18', '--batch-size=64']);
      expect(appArgs(['--variant=34'], 'train:serve', ancestors)).toEqual(['--variant=34']);
    } finally {
      if (saved === undefined) delete process.env['NX_TASK_TARGET_PROJECT'];
      else process.env['NX_TASK_TARGET_PROJECT'] = saved;
    }
  });

  test('outside nx the app’s own arguments are used as they are', () => {
    const saved = process.env['NX_TASK_TARGET_PROJECT'];
    delete process.env['NX_TASK_TARGET_PROJECT'];
    try {
      expect(appArgs(['--a=1'], 'train:serve', () => [[...nx, 'run', 'train:serve', '--b=2']])).toEqual(['--a=1']);
    } finally {
      if (saved !== undefined) process.env['NX_TASK_TARGET_PROJECT'] = saved;
    }
  });
});
