/**
 * @resnet/variants — the ResNet family (He et al. 2016) built from @resnet/spec:
 * blocks, stems, the depth-keyed variants 18/34/50/101/152 in versions v1 and v1.5,
 * the CIFAR family, and Table 1 summaries. Pure: no tfjs, no I/O.
 * @module
 */
export * from './blocks.ts';
export * from './family.ts';
export * from './resnet.ts';
export * from './cifar.ts';
export * from './summary.ts';
