// The side-effecting edges of backend selection (requiring optional packages, native
// registration, patching `util`), gathered so tests can replace each one.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import util from 'node:util';
import { registerOnednn, type OnednnStatus } from '@resnet/onednn';

/**
 * Everything `selectBackend` loads, injectable so tests can simulate installed or
 * missing packages, a built or missing oneDNN addon, and Node ≥ 23's `util`.
 *
 * @example
 * const loaders: Partial<BackendLoaders> = { require: (id) => { throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' }); } };
 * await selectBackend('auto', { loaders }); // tensorflow packages look absent
 */
export interface BackendLoaders {
  /** Loads an optional package by name; throws (code `MODULE_NOT_FOUND`) when it is not installed. */
  readonly require: (id: string) => unknown;
  /** Registers the `onednn` tfjs backend, or says why it cannot. */
  readonly registerOnednn: () => OnednnStatus;
  /** Node's `util` module, which tfjs-node 4.22 expects to have `isNullOrUndefined` (removed in Node 23). */
  readonly util: Record<string, unknown>;
}

// Prefer the module's own `require` (CommonJS under tsx and jest) so optional packages share
// the caller's module registry, and therefore its single @tensorflow/tfjs-core.
const requireOptional: (id: string) => unknown =
  typeof require === 'function' ? require : createRequire(typeof __filename === 'string' ? __filename : join(process.cwd(), 'index.js'));

/** The real loaders. */
export const defaultLoaders: BackendLoaders = {
  require: (id) => requireOptional(id),
  registerOnednn,
  util: util as unknown as Record<string, unknown>,
};

// Duck-typed, not `instanceof Error`: errors from another realm (jest's resolver, vm contexts) fail that test.
function errorFields(error: unknown): { readonly code: unknown; readonly message: string } | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof message === 'string' ? { code, message } : null;
}

/** True when `error` says that `id` itself is not installed (not one of its dependencies). */
export function isMissingModule(error: unknown, id: string): boolean {
  const fields = errorFields(error);
  return fields !== null && fields.code === 'MODULE_NOT_FOUND' && fields.message.includes(`'${id}'`);
}

/**
 * Gives `util` the `isNullOrUndefined` that Node 23 removed and tfjs-node 4.22 still calls.
 * Leaves an existing function alone. Returns true when it installed the shim.
 */
export function shimIsNullOrUndefined(target: Record<string, unknown>): boolean {
  if (typeof target['isNullOrUndefined'] === 'function') return false;
  target['isNullOrUndefined'] = (value: unknown): boolean => value === null || value === undefined;
  return true;
}

/** The first line of an error's message, for one-line reasons. */
export function firstLine(error: unknown): string {
  const message = errorFields(error)?.message ?? String(error);
  return message.split('\n', 1)[0] ?? message;
}
