// The README's test command and the nx cache: `npx nx test` must never replay a pass for code it
// did not test. Read from nx's own resolved configuration (`nx graph --file`, `nx show target
// inputs`), so what is checked is what nx will do. The cached-pass trial itself (a failing test
// added after a cached run makes `npx nx test` fail) runs in CI: tools/check_test_command.sh.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');
// Each nx here is its own invocation, not a task of the `npx nx test` that runs this file.
const ENV: NodeJS.ProcessEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0' };
delete ENV['NX_INVOCATION_ROOT_PID'];

function nx(...args: string[]): string {
  const r = spawnSync('npx', ['nx', ...args], { encoding: 'utf8', cwd: root, env: ENV, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`nx ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

interface TargetConfig {
  readonly cache?: boolean;
  readonly inputs?: readonly (string | Readonly<Record<string, string>>)[];
  readonly options?: { readonly command?: string };
}
interface Graph {
  readonly graph: {
    readonly nodes: Readonly<
      Record<string, { readonly data: { readonly root: string; readonly targets?: Readonly<Record<string, TargetConfig>> } }>
    >;
    readonly dependencies: Readonly<Record<string, readonly { readonly target: string }[]>>;
  };
}

const file = join(mkdtempSync(join(tmpdir(), 'nx-graph-')), 'graph.json');
nx('graph', `--file=${file}`);
const graph = (JSON.parse(readFileSync(file, 'utf8')) as Graph).graph;
const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as {
  readonly namedInputs: Readonly<Record<string, readonly unknown[]>>;
};

describe('npx nx test never replays a pass', () => {
  test('the aggregate target (what `npx nx test` and `npm test` run) is never cached', () => {
    const aggregate = graph.nodes['workspace']?.data.targets?.['test'];
    expect(aggregate?.options?.command).toContain('nx run-many -t lint typecheck test e2e');
    expect(aggregate?.cache).toBe(false);
    expect((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['test']).toBe(
      'nx test',
    );
  });

  test("every cached lint, typecheck and test target hashes its project's files and its dependencies' sources; tests also the test environment", () => {
    const cached: string[] = [];
    for (const [project, node] of Object.entries(graph.nodes)) {
      for (const [target, config] of Object.entries(node.data.targets ?? {})) {
        if (!['lint', 'typecheck', 'test', 'test-slow', 'e2e'].includes(target) || config.cache !== true) continue;
        cached.push(`${project}:${target}`);
        expect({ task: `${project}:${target}`, inputs: config.inputs }).toEqual({
          task: `${project}:${target}`,
          inputs: expect.arrayContaining(['default', '^production', ...(target.startsWith('test') ? ['testEnvironment'] : [])]),
        });
      }
    }
    expect(cached.length).toBeGreaterThan(30);
    // production leaves out only tests and jest's config: a dependency's every other file is an input of its dependents.
    expect(nxJson.namedInputs['production']).toEqual(['default', '!{projectRoot}/**/*_test.ts', '!{projectRoot}/jest.config.cjs']);
    expect(nxJson.namedInputs['testEnvironment']).toEqual(
      expect.arrayContaining([{ env: 'CI' }, { runtime: 'node tools/test_environment.cjs' }]),
    );
  });

  test('files the tests read outside their project are inputs of those tests (a changed README or study re-runs the report tests)', () => {
    const checks: readonly [string, readonly string[]][] = [
      [
        'report:test',
        [
          'README.md',
          'docs/results/summary.md',
          'docs/results/resnet18-seed0/metrics.jsonl',
          'docs/results/earlier/unclipped/resnet18/metrics.jsonl',
          'tools/torch_reference.py',
          'tools/bench_torch.py',
          'libs/results/src/mod.ts',
          // The report reads runs through run-dir (and no longer through training, which it does not import).
          'libs/run-dir/src/config.ts',
        ],
      ],
      ['bench:test', ['tools/bench_torch.py', 'tools/torch_resnet.py']],
      ['onednn:test', ['tools/build_native.cjs', 'libs/onednn/native/conv.cc']],
      ['train:test', ['libs/spec/src/mod.ts', 'libs/files/src/atomic.ts', 'tools/test_environment.cjs', 'tools/slurm_cluster.sh']],
      ['train:test-slow', ['libs/spec/src/mod.ts', 'libs/files/src/atomic.ts', 'tools/test_environment.cjs', 'tools/slurm_cluster.sh']],
      ['flags-e2e:test-slow', ['apps/train/src/main.ts', 'libs/run-dir/src/config.ts', 'tools/test_environment.cjs']],
    ];
    for (const [task, files] of checks) {
      const r = spawnSync('npx', ['nx', 'show', 'target', 'inputs', task, '--check', ...files], {
        encoding: 'utf8',
        cwd: root,
        env: ENV,
        timeout: 120_000,
      });
      // nx lists the checked paths under "were inputs" and "were not inputs".
      const notInputs = r.stdout.split(/were not inputs for \S+:/)[1] ?? '';
      expect({
        task,
        notInputs: notInputs
          .trim()
          .split(/\s+/)
          .filter((f) => f !== ''),
      }).toEqual({ task, notInputs: [] });
      expect(r.stdout).toContain(`These arguments were inputs for ${task}:`);
    }
  });
});

// The slow tier: `*_slow_test.ts` files run in each project's `test-slow` target, never in `test`. A slow
// file in a project without that target would run nowhere, and a slow file in `test` would undo the tier.
describe('the slow tier (`*_slow_test.ts`: not in `npx nx test`, in `nx run-many -t test-slow`, which CI runs)', () => {
  const slowFiles = spawnSync('git', ['ls-files', '*_slow_test.ts'], { encoding: 'utf8', cwd: root })
    .stdout.split('\n')
    .filter((f) => f !== '');

  test('every project holding a slow test file has a cached test-slow target that runs exactly those files', () => {
    expect(slowFiles.length).toBeGreaterThan(0);
    const owners = new Map<string, string[]>();
    for (const f of slowFiles) {
      const owner = Object.entries(graph.nodes)
        .filter(([, node]) => node.data.root !== '.' && f.startsWith(`${node.data.root}/`))
        .sort(([, a], [, b]) => b.data.root.length - a.data.root.length)[0];
      expect({ file: f, owner: owner?.[0] }).toEqual({ file: f, owner: expect.any(String) });
      if (owner) owners.set(owner[0], [...(owners.get(owner[0]) ?? []), f]);
    }
    for (const [project, files] of owners) {
      const target = graph.nodes[project]?.data.targets?.['test-slow'];
      expect({ project, cache: target?.cache, command: target?.options?.command }).toEqual({
        project,
        cache: true,
        command: expect.stringContaining("--testMatch='<rootDir>/src/**/*_slow_test.ts'"),
      });
      expect(files.length).toBeGreaterThan(0);
    }
  });

  test('jest lists the slow files under test-slow and none of them under test (apps/train holds both kinds)', () => {
    const list = (...args: string[]): string[] => {
      const r = spawnSync('npx', ['jest', '--listTests', ...args], { encoding: 'utf8', cwd: join(root, 'apps/train'), timeout: 120_000 });
      if (r.status !== 0) throw new Error(`jest --listTests exited ${r.status}:\n${r.stderr}`);
      return r.stdout
        .split('\n')
        .filter((l) => l.endsWith('.ts'))
        .map((l) => l.slice(root.length + 1))
        .sort();
    };
    const command = graph.nodes['train']?.data.targets?.['test-slow']?.options?.command ?? '';
    const args = [...command.matchAll(/--\S+?=(?:'[^']*'|\S+)/g)].map((m) => m[0].replace(/'/g, ''));
    const fast = list();
    const slow = list(...args);
    expect(slow).toEqual(slowFiles.filter((f) => f.startsWith('apps/train/')).sort());
    expect(fast.filter((f) => f.endsWith('_slow_test.ts'))).toEqual([]);
    expect(fast.length).toBeGreaterThan(3);
  });
});
