import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LockOwner } from '@resnet/files';
import type { ProgressRecord } from '@resnet/run-dir';
import type { TrainConfig } from './config.ts';
import { batchScript, parseQueue, sbatchArgs, splitOptions } from './slurm.ts';
import { formatStatus, runStatus, type RunFacts } from './sweep_status.ts';
import * as E from 'fp-ts/Either';

const config = { epochs: 10, variant: 18, seed: 1 } as TrainConfig;
const run = (epochsDone: number) => ({ _tag: 'Run', config, epochsDone, hasCheckpoint: epochsDone > 0 }) as const;
const log = join(mkdtempSync(join(tmpdir(), 'status-')), '42_0.log');
writeFileSync(log, 'sweep: …\n');
const base: RunFacts = {
  label: 'ResNet-18 seed 1',
  dir: 'o/resnet18-seed1',
  state: run(3),
  epochs: 10,
  task: { id: '42_0', log, outcome: null, lastMessage: null },
  queued: null,
  standing: { _tag: 'Idle', progress: null },
};
const owner: LockOwner = { host: 'vm', pid: 4242, startedAt: '', processStart: null, command: '', slurm: null };
const training: ProgressRecord = {
  format: 'resnet-ts/progress@1',
  state: 'training',
  host: 'vm',
  pid: 4242,
  updatedAt: '2026-12-06T16:00:00.000Z',
  epoch: 1,
  epochs: 10,
  step: 1,
  steps: 469,
  loss: 1,
  trainAcc: 0.5,
  examplesPerSec: 100,
  lr: 0.1,
  etaSeconds: 0,
  error: null,
};

describe('runStatus: where a run stands', () => {
  test.each<[string, Partial<RunFacts>, string, string]>([
    ['all epochs, out of the queue', { state: run(10) }, 'finished', '10/10 epochs'],
    [
      'all epochs, its task still running (writing the model)',
      { state: run(10), queued: { id: '42_0', state: 'RUNNING', reason: 'None' } },
      'running',
      'all 10 epochs done, writing the model (Slurm task 42_0)',
    ],
    ['its task running', { queued: { id: '42_0', state: 'RUNNING', reason: 'None' } }, 'running', 'epoch 4/10 (Slurm task 42_0)'],
    [
      'its task pending',
      { queued: { id: '42_0', state: 'PENDING', reason: 'Resources' } },
      'pending',
      '3/10 epochs done; Slurm task 42_0 pending (Resources)',
    ],
    [
      'a live process holds its lock',
      { task: null, standing: { _tag: 'Training', owner, progress: null } },
      'running',
      'epoch 4/10 (pid 4242 on vm)',
    ],
    [
      'a live process holds its lock and has reported its step',
      { task: null, standing: { _tag: 'Training', owner, progress: { ...training, epoch: 4, step: 49, steps: 469, etaSeconds: 212 } } },
      'running',
      'epoch 4/10 (pid 4242 on vm), step 49/469, 3 min 32 s of training left',
    ],
    [
      'its task running, its last report of an earlier epoch (not shown)',
      {
        queued: { id: '42_0', state: 'RUNNING', reason: 'None' },
        standing: { _tag: 'Training', owner, progress: { ...training, epoch: 3, step: 400, steps: 469, etaSeconds: 60 } },
      },
      'running',
      'epoch 4/10 (Slurm task 42_0)',
    ],
    [
      'its task stopped with a checkpoint (130)',
      { task: { id: '42_0', log, outcome: { code: 130, endedAt: '', restart: 0 }, lastMessage: null } },
      'stopped',
      '3/10 epochs done (stopped with a checkpoint, e.g. at its time limit); submit the sweep again to continue; log: ',
    ],
    [
      'its task exited with 1',
      {
        state: { _tag: 'Absent' },
        task: { id: '42_0', log, outcome: { code: 1, endedAt: '', restart: 0 }, lastMessage: 'sweep: no data' },
      },
      'failed',
      'no epoch done; task 42_0 exited with 1: sweep: no data; log: ',
    ],
    [
      'its task ended without an outcome',
      {},
      'failed',
      '3/10 epochs done; task 42_0 ended without recording an outcome (killed: time limit, memory or node failure?); log: ',
    ],
    ['the queue cannot be asked', { queued: undefined }, 'unknown', "3/10 epochs done; Slurm's queue could not be asked (squeue); log: "],
    ['trained here and stopped', { task: null }, 'stopped', '3/10 epochs done; run the sweep again to continue'],
    [
      'trained here, failed with a recorded error',
      { task: null, standing: { _tag: 'Failed', error: 'the loss became NaN at epoch 4, step 10' } },
      'failed',
      '3/10 epochs done; the loss became NaN at epoch 4, step 10; run the sweep again to retry from its last checkpoint',
    ],
    [
      'trained here, stopped by a signal',
      {
        task: null,
        standing: {
          _tag: 'Stopped',
          stop: {
            format: 'resnet-ts/stopped@1',
            at: '',
            reason: 'SIGTERM',
            epoch: 3,
            step: 12,
            continueWith: 'npx nx run train:serve --resume=x',
          },
        },
      },
      'stopped',
      '3/10 epochs done; stopped by SIGTERM at epoch 4, step 12; run the sweep again to continue',
    ],
    [
      'trained here, its process killed without a word',
      { task: null, standing: { _tag: 'Stale', progress: training, who: 'pid 4242 on vm', silentSeconds: 60 } },
      'stopped',
      '3/10 epochs done; pid 4242 on vm stopped without a word (killed?); run the sweep again to continue',
    ],
    ['a folder that is not a run', { state: { _tag: 'NotARun', reason: 'not empty' } }, 'failed', 'not empty'],
  ])('%s', (_what, facts, status, detail) => {
    const r = runStatus({ ...base, ...facts });
    expect(r.status).toBe(status);
    expect(r.detail.startsWith(detail)).toBe(true);
  });

  test('the table aligns its columns and counts each status', () => {
    const text = formatStatus('o', {
      runs: [
        runStatus({ ...base, state: run(10) }),
        runStatus({ ...base, label: 'ResNet-152 seed 1', dir: 'o/resnet152-seed1', task: null }),
      ],
      jobs: ['42'],
    });
    expect(text).toBe(
      [
        'sweep o (Slurm job 42):',
        'ResNet-18 seed 1   finished  resnet18-seed1: 10/10 epochs',
        'ResNet-152 seed 1  stopped   resnet152-seed1: 3/10 epochs done; run the sweep again to continue',
        '2 runs: 1 finished, 1 stopped',
      ].join('\n'),
    );
  });
});

describe('the Slurm job, as text', () => {
  test("the batch script runs this sweep for the task's one run, with the task's CPUs as threads and its outcome file", () => {
    const tasks = [
      { index: 0, variant: 18, seed: 1, dir: 'o/resnet18-seed1', epochs: 2 },
      { index: 1, variant: 50, seed: 1, dir: 'o/resnet50-seed1', epochs: 2 },
    ];
    const script = batchScript(tasks, {
      root: '/w s',
      node: '/usr/bin/node',
      out: 'o',
      passthrough: ['--epochs=2', "--data-dir=/d/it's"],
      seeded: true,
      logs: '/w s/o/.slurm/logs',
      command: 'npx nx run train:sweep …',
    });
    expect(script).toContain('  1) run=(--variants=50 --seeds=1) ;; # o/resnet50-seed1\n');
    expect(script).toContain("cd '/w s'\n");
    expect(script).toContain('export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"\n');
    expect(script).toContain(
      'export RESNET_SWEEP_OUTCOME="/w s/o/.slurm/logs/${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.outcome.json"\n',
    );
    expect(script).toContain("export RESNET_SWEEP_SUBMITTED_BY='npx nx run train:sweep …'\n");
    expect(script).toContain(
      `exec /usr/bin/node --import tsx apps/train/src/sweep_main.ts --out=o --epochs=2 '--data-dir=/d/it'\\''s' "\${run[@]}"\n`,
    );
  });

  test('sbatch gets a requeueable array that appends to its logs and is warned 5 minutes before its time limit; --sbatch options come last', () => {
    const args = sbatchArgs({
      tasks: 4,
      name: 'resnet-sweep',
      log: '/o/%A_%a.log',
      chdir: '/w',
      cpusPerTask: 2,
      mem: '3000M',
      partition: 'cpu',
      time: '1:00:00',
      extra: ['--qos=long'],
    });
    expect(args).toEqual([
      '--parsable',
      '--array=0-3',
      '--job-name=resnet-sweep',
      '--requeue',
      '--open-mode=append',
      '--output=/o/%A_%a.log',
      '--chdir=/w',
      '--nodes=1',
      '--ntasks=1',
      '--cpus-per-task=2',
      '--mem=3000M',
      '--signal=B:TERM@300',
      '--partition=cpu',
      '--time=1:00:00',
      '--qos=long',
    ]);
    expect(splitOptions(`--account=lab --comment="two words" -q 'x y'`)).toEqual(
      E.right(['--account=lab', '--comment=two words', '-q', 'x y']),
    );
    expect(splitOptions('--comment="open')).toEqual(E.left('--sbatch has an unclosed "'));
    expect(splitOptions('--qos=long extra')).toEqual(
      E.left('--sbatch takes sbatch options (--name=value, or --name value), got "extra" on its own'),
    );
    expect(parseQueue('42_0|RUNNING|None\n42_1|PENDING|Resources\n\n')).toEqual([
      { id: '42_0', state: 'RUNNING', reason: 'None' },
      { id: '42_1', state: 'PENDING', reason: 'Resources' },
    ]);
  });
});
