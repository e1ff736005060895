/**
 * latest.json: which checkpoint is the run's latest, and how far it got. Replaced atomically
 * after the checkpoint's folder is complete, so it never names a half-written one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { writeFileAtomic } from '@resnet/files';
import { decodeJson, int, matching, named } from './codec.ts';
import type { RunError } from './errors.ts';
import { CHECKPOINTS_DIR, LATEST_FILE } from './layout.ts';

/** latest.json's record. */
export const LatestCodec = named(
  t.type({
    /** The checkpoint's folder under checkpoints/. */
    checkpoint: matching(/^[\w.-]+$/, 'a checkpoint folder name'),
    /** Epochs finished. */
    epoch: int(0, 'a whole number'),
    /** Steps done of the next epoch. */
    step: int(0, 'a whole number'),
  }),
  'a JSON object',
);
export type Latest = Readonly<t.TypeOf<typeof LatestCodec>>;

/**
 * latest.json, checked: a record that names a checkpoint folder that exists.
 * @example readLatest('runs/r') // Right({ checkpoint: 'epoch-0002-step-000000', epoch: 2, step: 0 })
 */
export function readLatest(dir: string): E.Either<RunError, Latest> {
  const path = join(dir, LATEST_FILE);
  const damaged = (reason: string): E.Either<RunError, never> =>
    E.left({ _tag: 'Corrupt', dir, part: 'latest', file: path, reason, message: `${path} is damaged (${reason})` });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return damaged(`cannot be read: ${(e as Error).message}`);
  }
  const latest = decodeJson(LatestCodec, text);
  if (E.isLeft(latest)) return damaged(latest.left);
  if (!existsSync(join(dir, CHECKPOINTS_DIR, latest.right.checkpoint, 'manifest.json')))
    return damaged(`it names checkpoints/${latest.right.checkpoint}, which does not exist`);
  return latest;
}

/**
 * Points latest.json at a checkpoint (atomically).
 * @example writeLatest('runs/r', { checkpoint: 'epoch-0001-step-000000', epoch: 1, step: 0 })
 */
export function writeLatest(dir: string, latest: Latest): void {
  writeFileAtomic(join(dir, LATEST_FILE), `${JSON.stringify(latest)}\n`);
}
