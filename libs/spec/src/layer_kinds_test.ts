// A newcomer adding a layer kind gets a compile error at every place that must handle it:
// the workspace is type-checked with one more kind in `Layer`, and the errors it gains are
// compared with the list of places below. A new dispatch over layers belongs in that list;
// one that compiles without handling the new kind fails this test.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..', '..');
const LAYER = join(ROOT, 'libs', 'spec', 'src', 'layer.ts');

/** Where a new leaf kind must be handled: file → the functions whose switch must list it. */
const LEAF_PLACES = {
  'libs/spec/src/trace.ts': ['leaf'],
  'libs/spec/src/weights.ts': ['ownWeights'],
  'libs/variants/src/summary.ts': ['describe', 'weightedLayers'],
  'libs/tfjs/src/forward.ts': ['apply'],
  'libs/tfjs/src/gradients.ts': ['pass'],
  'libs/tfjs/src/memory.ts': ['pass'],
  // The float64 reference interpreter of the gradient checks (@resnet/tfjs/testing).
  'libs/tfjs/src/_reference_forward.ts': ['compute'],
  'libs/tfjs/src/layers_model.ts': ['lower'],
  'libs/onnx/src/to_onnx.ts': ['lower', 'outFeatures'],
};

/** Where a new container kind (one that holds layers) must be handled. */
const CONTAINER_PLACES = {
  ...LEAF_PLACES,
  'libs/spec/src/layer.ts': ['children'],
  'libs/spec/src/trace.ts': ['visitBody'],
};

// The kinds a newcomer might add, all at once (one type-check): a leaf, a container, and one
// not yet classified. Each error names the kinds its place fails to handle.
const NEW_KINDS = { NewLeaf: false, NewContainer: true, NewUnclassified: null } as const;

function withNewKinds(source: string): string {
  const kinds = Object.keys(NEW_KINDS);
  const declared = source.replace(
    'export type Layer = Conv2d |',
    `${kinds.map((k) => `export interface ${k} {\n  readonly _tag: '${k}';\n  readonly name: string;\n}\n`).join('\n')}\nexport type Layer = ${kinds.join(' | ')} | Conv2d |`,
  );
  const classified = declared.replace(
    'const HOLDS_LAYERS = {',
    `const HOLDS_LAYERS = {\n${Object.entries(NEW_KINDS)
      .flatMap(([k, holds]) => (holds === null ? [] : [`  ${k}: ${holds},\n`]))
      .join('')}`,
  );
  if (declared === source || classified === declared) throw new Error(`${LAYER} changed: update withNewKinds`);
  return classified;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('_test.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

const options = (() => {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.base.json'), (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return { ...parsed.options, noEmit: true, types: ['node'] };
})();
const roots = ['libs', 'apps'].flatMap((d) => readdirSync(join(ROOT, d)).flatMap((p) => sources(join(ROOT, d, p, 'src'))));

/** Every error as "file → function" and its message, for a program where layer.ts reads `layerSource`. */
function errors(
  layerSource: string,
  old?: ts.Program,
): { readonly program: ts.Program; readonly errors: readonly { readonly place: string; readonly message: string }[] } {
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, onError, create) =>
    file === LAYER ? ts.createSourceFile(file, layerSource, language) : read(file, language, onError, create);
  const program = ts.createProgram({ rootNames: roots, options, host, ...(old === undefined ? {} : { oldProgram: old }) });
  const found = ts.getPreEmitDiagnostics(program).flatMap((d) =>
    d.file === undefined || d.start === undefined
      ? []
      : [
          {
            place: `${relative(ROOT, d.file.fileName)} → ${enclosingFunction(d.file, d.start)}`,
            message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
          },
        ],
  );
  return { program, errors: found };
}

// The named functions (or top-level constants) around `position`, outermost first: `initModel/visit`.
function enclosingFunction(file: ts.SourceFile, position: number): string {
  const names: string[] = [];
  const visit = (node: ts.Node): void => {
    if (position < node.getStart(file) || position >= node.getEnd()) return;
    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name !== undefined) names.push(node.name.getText(file));
    else if (
      ts.isVariableDeclaration(node) &&
      node.initializer !== undefined &&
      (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer) || ts.isSourceFile(node.parent.parent.parent))
    )
      names.push(node.name.getText(file));
    ts.forEachChild(node, visit);
  };
  visit(file);
  return names.length === 0 ? '(top level)' : names.join('/');
}

// The kinds an error says its place leaves unhandled: the type reaching `absurd`, or the kind the classification table lacks.
function unhandled(message: string): readonly string[] {
  const notNever = /^Argument of type '([^']*)' is not assignable to parameter of type 'never'/.exec(message);
  if (notNever !== null) return (notNever[1] ?? '').split(' | ');
  const unclassified = /Property '(\w+)' (?:is missing in type|does not exist on type)/.exec(message);
  return unclassified === null ? [] : [unclassified[1] ?? ''];
}

function expected(places: Readonly<Record<string, readonly string[]>>): string[] {
  return Object.entries(places)
    .flatMap(([file, fns]) => fns.map((fn) => `${file} → ${fn}`))
    .sort();
}

// Two type-checks of the whole workspace, about 15 s each on 2 cores.
jest.setTimeout(180_000);

describe('a new layer kind is a compile error at every place that must handle it', () => {
  // The places whose errors name `kind`, leaving out errors the workspace already has (work in progress elsewhere).
  let placesOf: (kind: keyof typeof NEW_KINDS) => string[] = () => [];
  beforeAll(() => {
    const source = readFileSync(LAYER, 'utf8');
    const before = errors(source);
    const known = new Set(before.errors.map((e) => `${e.place}: ${e.message}`));
    const after = errors(withNewKinds(source), before.program).errors.filter((e) => !known.has(`${e.place}: ${e.message}`));
    placesOf = (kind) => [...new Set(after.filter((e) => unhandled(e.message).includes(kind)).map((e) => e.place))].sort();
  });

  test('a new leaf kind: every interpreter, exporter and fold that lists the leaves', () => {
    expect(placesOf('NewLeaf')).toEqual(expected(LEAF_PLACES));
  });

  test('a new container kind: those, and children() and the shape fold beside Sequential and Residual', () => {
    expect(placesOf('NewContainer')).toEqual(expected(CONTAINER_PLACES));
  });

  test('a kind not yet classified as leaf or container: the table that classifies them, then every place a leaf must be handled', () => {
    expect(placesOf('NewUnclassified')).toEqual(expected({ ...LEAF_PLACES, 'libs/spec/src/layer.ts': ['HOLDS_LAYERS', 'isLeaf'] }));
  });
});
