import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import { batchNorm, conv2d, dense, globalAvgPool, relu, residual, sequential, type Layer, type Sequential } from './layer.ts';
import { countParams } from './params.ts';
import { trace } from './trace.ts';
import { WEIGHT_ROLES, weightName, weightSchema, type WeightRoleTag, type WeightSpec } from './weights.ts';

/**
 * A random valid network: an optional stem, residual units (identity or projection
 * shortcuts, convolutions with or without bias), global pooling and a dense head.
 */
const width = fc.integer({ min: 1, max: 6 });
const kernel = fc.constantFrom(1, 3);
const network = fc
  .record({
    inChannels: width,
    stem: fc.option(fc.record({ width, kernel, bias: fc.boolean() }), { nil: undefined }),
    units: fc.array(fc.record({ width, kernel, bias: fc.boolean(), project: fc.boolean() }), { maxLength: 4 }),
    classes: fc.integer({ min: 1, max: 12 }),
    denseBias: fc.boolean(),
  })
  .map(({ inChannels, stem, units, classes, denseBias }) => {
    const layers: Layer[] = [];
    let c = inChannels;
    if (stem !== undefined) {
      layers.push(
        sequential('stem', [
          conv2d('conv', { inChannels: c, outChannels: stem.width, kernel: stem.kernel, padding: (stem.kernel - 1) / 2, bias: stem.bias }),
          batchNorm('bn', { channels: stem.width }),
          relu('relu'),
        ]),
      );
      c = stem.width;
    }
    const blocks = units.map((u, i) => {
      const main = [
        conv2d('conv1', { inChannels: c, outChannels: u.width, kernel: u.kernel, padding: (u.kernel - 1) / 2, bias: u.bias }),
        batchNorm('bn1', { channels: u.width }),
        relu('relu'),
        conv2d('conv2', { inChannels: u.width, outChannels: u.width, kernel: 3, padding: 1 }),
        batchNorm('bn2', { channels: u.width }),
      ];
      const projection = [
        conv2d('shortcut_conv', { inChannels: c, outChannels: u.width, kernel: 1 }),
        batchNorm('shortcut_bn', { channels: u.width }),
      ];
      const shortcut = c === u.width && !u.project ? [] : projection;
      c = u.width;
      return residual(String(i), { main, shortcut });
    });
    const head = [globalAvgPool('pool'), dense('fc', { inFeatures: c, outFeatures: classes, bias: denseBias })];
    const net: Sequential = sequential('net', [...layers, sequential('stage', blocks), ...head]);
    return { net, inChannels, units: units.length };
  });

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const NONE = { trainable: 0, state: 0 };

/** Parameters and buffers as torchvision counts them, layer by layer, written out independently of the schema. */
function torchCount(layer: Layer): { trainable: number; state: number } {
  const sum = (layers: readonly Layer[]) =>
    layers.map(torchCount).reduce((n, c) => ({ trainable: n.trainable + c.trainable, state: n.state + c.state }), NONE);
  switch (layer._tag) {
    case 'Conv2d':
      return { trainable: layer.kernel ** 2 * layer.inChannels * layer.outChannels + (layer.bias ? layer.outChannels : 0), state: 0 };
    case 'BatchNorm':
      return { trainable: 2 * layer.channels, state: 2 * layer.channels };
    case 'Dense':
      return { trainable: layer.inFeatures * layer.outFeatures + (layer.bias ? layer.outFeatures : 0), state: 0 };
    case 'Relu':
    case 'MaxPool':
    case 'GlobalAvgPool':
      return NONE;
    case 'Sequential':
      return sum(layer.layers);
    case 'Residual':
      return sum([...layer.main, ...layer.shortcut]);
    default:
      return absurd(layer);
  }
}

/** The roles of each weighted kind of layer, in the schema's order. */
function rolesOf(layer: Layer): readonly WeightRoleTag[] {
  if (layer._tag === 'Conv2d') return layer.bias ? ['ConvWeight', 'ConvBias'] : ['ConvWeight'];
  if (layer._tag === 'Dense') return layer.bias ? ['DenseWeight', 'DenseBias'] : ['DenseWeight'];
  if (layer._tag === 'BatchNorm') return ['BatchNormScale', 'BatchNormOffset', 'BatchNormMean', 'BatchNormVariance'];
  return [];
}

describe('weightSchema', () => {
  test('trainable elements: k²·in·out (+ out) per conv, 2C per batch norm, in·out (+ out) per dense; state: 2C per batch norm', () => {
    fc.assert(
      fc.property(network, ({ net }) => {
        const schema = weightSchema(net);
        const trainable = schema.filter((w) => w.trainable).reduce((n, w) => n + size(w.shape), 0);
        const state = schema.filter((w) => !w.trainable).reduce((n, w) => n + size(w.shape), 0);
        expect({ trainable, state }).toEqual(torchCount(net));
        expect(countParams(net)).toEqual({ trainable, nonTrainable: state });
      }),
      { numRuns: 200 },
    );
  });

  test('names are unique, and each is its layer’s path, a slash and its role’s suffix', () => {
    fc.assert(
      fc.property(network, ({ net }) => {
        const schema = weightSchema(net);
        expect(new Set(schema.map((w) => w.name)).size).toBe(schema.length);
        for (const w of schema) expect(w.name).toBe(`${w.layer}/${WEIGHT_ROLES[w.role._tag].suffix}`);
      }),
      { numRuns: 200 },
    );
  });

  test('layers come in evaluation order (the trace’s), each with its kind’s tensors in a fixed order and the layer’s shapes', () => {
    fc.assert(
      fc.property(network, ({ net, inChannels }) => {
        const traced = trace(net, [1, 6, 6, inChannels]);
        if (E.isLeft(traced)) throw new Error(traced.left.message);
        const expected = traced.right.entries.flatMap((e) => rolesOf(e.layer).map((role) => ({ name: weightName(e.path, role), role })));
        const schema = weightSchema(net);
        expect(schema.map((w) => ({ name: w.name, role: w.role._tag }))).toEqual(expected);
        const layers = new Map(traced.right.entries.map((e) => [e.path, e.layer]));
        for (const w of schema) {
          const layer = layers.get(w.layer);
          if (layer?._tag === 'Conv2d') {
            const { kernel: k, inChannels, outChannels } = layer;
            expect(w.shape).toEqual(w.role._tag === 'ConvWeight' ? [k, k, inChannels, outChannels] : [outChannels]);
          } else if (layer?._tag === 'Dense') {
            expect(w.shape).toEqual(w.role._tag === 'DenseWeight' ? [layer.inFeatures, layer.outFeatures] : [layer.outFeatures]);
          } else if (layer?._tag === 'BatchNorm') {
            expect(w.shape).toEqual([layer.channels]);
          } else {
            throw new Error(`${w.name} belongs to no weighted layer`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  test('only convolution and dense weights decay; batch-norm running statistics are state, every other tensor is trained', () => {
    fc.assert(
      fc.property(network, ({ net }) => {
        for (const w of weightSchema(net)) {
          expect([w.name, w.decays]).toEqual([w.name, w.role._tag === 'ConvWeight' || w.role._tag === 'DenseWeight']);
          expect([w.name, w.trainable]).toEqual([w.name, w.role._tag !== 'BatchNormMean' && w.role._tag !== 'BatchNormVariance']);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('exactly the last batch norm on each residual unit’s main branch closes the unit', () => {
    fc.assert(
      fc.property(network, ({ net, units }) => {
        const closing = weightSchema(net).filter((w) => w.role._tag === 'BatchNormScale' && w.role.closesResidual);
        expect(closing.map((w) => w.name)).toEqual(Array.from({ length: units }, (_, i) => `net.stage.${i}.bn2/weight`));
      }),
      { numRuns: 200 },
    );
  });

  test('a small network lists exactly its tensors: names, shapes, roles with their fans, trained or state, decayed or not', () => {
    const net = sequential('net', [
      residual('block', {
        main: [conv2d('conv', { inChannels: 2, outChannels: 4, kernel: 3, padding: 1, bias: true }), batchNorm('bn', { channels: 4 })],
        shortcut: [conv2d('shortcut_conv', { inChannels: 2, outChannels: 4, kernel: 1 }), batchNorm('shortcut_bn', { channels: 4 })],
      }),
      globalAvgPool('pool'),
      dense('fc', { inFeatures: 4, outFeatures: 3 }),
    ]);
    const row = (w: WeightSpec) => [w.name, w.layer, w.shape, w.role, w.trainable, w.decays];
    expect(weightSchema(net).map(row)).toEqual([
      ['net.block.conv/weight', 'net.block.conv', [3, 3, 2, 4], { _tag: 'ConvWeight', fanIn: 18, fanOut: 36 }, true, true],
      ['net.block.conv/bias', 'net.block.conv', [4], { _tag: 'ConvBias', fanIn: 18 }, true, false],
      ['net.block.bn/weight', 'net.block.bn', [4], { _tag: 'BatchNormScale', closesResidual: true }, true, false],
      ['net.block.bn/bias', 'net.block.bn', [4], { _tag: 'BatchNormOffset' }, true, false],
      ['net.block.bn/running_mean', 'net.block.bn', [4], { _tag: 'BatchNormMean' }, false, false],
      ['net.block.bn/running_var', 'net.block.bn', [4], { _tag: 'BatchNormVariance' }, false, false],
      ['net.block.shortcut_conv/weight', 'net.block.shortcut_conv', [1, 1, 2, 4], { _tag: 'ConvWeight', fanIn: 2, fanOut: 4 }, true, true],
      ['net.block.shortcut_bn/weight', 'net.block.shortcut_bn', [4], { _tag: 'BatchNormScale', closesResidual: false }, true, false],
      ['net.block.shortcut_bn/bias', 'net.block.shortcut_bn', [4], { _tag: 'BatchNormOffset' }, true, false],
      ['net.block.shortcut_bn/running_mean', 'net.block.shortcut_bn', [4], { _tag: 'BatchNormMean' }, false, false],
      ['net.block.shortcut_bn/running_var', 'net.block.shortcut_bn', [4], { _tag: 'BatchNormVariance' }, false, false],
      ['net.fc/weight', 'net.fc', [4, 3], { _tag: 'DenseWeight', fanIn: 4, fanOut: 3 }, true, true],
      ['net.fc/bias', 'net.fc', [3], { _tag: 'DenseBias', fanIn: 4 }, true, false],
    ]);
  });

  test('a layer without weights has an empty schema; a lone layer’s names start with its own name', () => {
    expect(weightSchema(sequential('s', [relu('r'), globalAvgPool('p')]))).toEqual([]);
    expect(weightSchema(dense('fc', { inFeatures: 2, outFeatures: 1, bias: false })).map((w) => w.name)).toEqual(['fc/weight']);
  });
});
