// One place configures fast-check for every suite: a default run count, and a
// reproducible seed. fast-check prints `{ seed: …, path: … }` on failure; rerun
// with FC_SEED=<seed> (and optionally FC_PATH=<path>) to replay exactly that case.
import fc from 'fast-check';

const seed = process.env['FC_SEED'];
const replayPath = process.env['FC_PATH'];

fc.configureGlobal({
  numRuns: Number(process.env['FC_NUM_RUNS'] ?? 100),
  ...(seed === undefined ? {} : { seed: Number(seed) }),
  ...(replayPath === undefined ? {} : { path: replayPath }),
  verbose: 1,
});
