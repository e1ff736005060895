/**
 * @resnet/kernels — the names and contracts of the fused tfjs kernels a backend may register
 * (@resnet/onednn does) and the interpreter and optimiser use when it has (@resnet/tfjs,
 * @resnet/training), composing the same maths from tfjs ops otherwise. One table, imported
 * by all three, so a name cannot drift. Pure data.
 * @module
 */
export * from './fused_kernels.ts';
