import { describeSystemError, systemError } from './system_error.ts';

describe('systemError', () => {
  test('an error with an errno code is a system error naming its path, or the destination of a rename onto a folder', () => {
    expect(systemError(Object.assign(new Error('x'), { code: 'ENOSPC', syscall: 'write', path: '/r/a' }))).toEqual({
      _tag: 'SystemError',
      code: 'ENOSPC',
      syscall: 'write',
      target: '/r/a',
    });
    expect(
      systemError(Object.assign(new Error('x'), { code: 'EISDIR', syscall: 'rename', path: '/r/a.tmp-1', dest: '/r/a' }))?.target,
    ).toBe('/r/a');
  });

  test('a socket error names host:port', () => {
    const e = systemError(Object.assign(new Error('listen EACCES'), { code: 'EACCES', syscall: 'listen', address: '127.0.0.1', port: 80 }));
    expect(e === null ? '' : describeSystemError(e)).toBe('127.0.0.1:80: permission denied (EACCES, listen)');
  });

  test('anything without an errno code (a bug) is not a system error', () => {
    expect(systemError(new TypeError('x is undefined'))).toBeNull();
    expect(systemError('ENOSPC')).toBeNull();
    expect(systemError(Object.assign(new Error('x'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBeNull();
  });
});
