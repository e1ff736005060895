/**
 * Errors the operating system raises (a full disk, a read-only mount, a port in use) as typed
 * values with one plain sentence each, so that an app reports them in one line instead of a
 * stack trace. Bugs (anything without an errno code) are not system errors.
 */

/** An error from a system call, with what it was doing and to which path or address. */
export interface SystemError {
  readonly _tag: 'SystemError';
  /** The errno name, e.g. `ENOSPC`. */
  readonly code: string;
  /** The system call, e.g. `open`, `rename`, `listen`. */
  readonly syscall: string | null;
  /** The file, or `host:port` for a socket; null when Node did not say. */
  readonly target: string | null;
}

const MEANINGS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  ENOENT: 'no such file or folder',
  EEXIST: 'it already exists',
  ENOTEMPTY: 'the folder is not empty',
  EIO: 'input/output error (a failing disk or a lost network file system)',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on the system',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EXDEV: 'cannot move between file systems',
  EBUSY: 'the file or folder is busy',
  EADDRINUSE: 'the address is already in use (another server is listening there)',
  EADDRNOTAVAIL: 'the address is not one of this machine',
  EPIPE: 'the reader went away',
};

/**
 * The system error in `e`, or null when `e` is something else (a bug, a typed failure).
 * @example systemError(Object.assign(new Error('…'), { code: 'ENOSPC', syscall: 'write', path: '/x' }))
 * // { _tag: 'SystemError', code: 'ENOSPC', syscall: 'write', target: '/x' }
 */
export function systemError(e: unknown): SystemError | null {
  if (typeof e !== 'object' || e === null) return null;
  const { code, syscall, path, dest, address, port } = e as {
    code?: unknown;
    syscall?: unknown;
    path?: unknown;
    dest?: unknown;
    address?: unknown;
    port?: unknown;
  };
  if (typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return null;
  const socket = typeof address === 'string' ? `${address}${typeof port === 'number' ? `:${port}` : ''}` : null;
  // A rename names both paths; the destination is the one the user chose.
  const file =
    typeof dest === 'string' && (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EXDEV')
      ? dest
      : typeof path === 'string'
        ? path
        : null;
  return { _tag: 'SystemError', code, syscall: typeof syscall === 'string' ? syscall : null, target: file ?? socket };
}

/**
 * One line for a system error: where, what it means, the errno name.
 * @example describeSystemError({ _tag: 'SystemError', code: 'EROFS', syscall: 'mkdir', target: '/mnt/ro/run' })
 * // '/mnt/ro/run: the file system is read-only (EROFS, mkdir)'
 */
export function describeSystemError(e: SystemError): string {
  const meaning = MEANINGS[e.code] ?? 'system error';
  const what = e.syscall === null ? e.code : `${e.code}, ${e.syscall}`;
  return `${e.target === null ? '' : `${e.target}: `}${meaning} (${what})`;
}
