/**
 * @resnet/fashion-mnist — the Fashion-MNIST dataset (Xiao et al. 2017): pure IDX parsing,
 * MD5 verification, locating the files (flag, env, workspace, Debian package, download)
 * and loading both splits as raw uint8.
 * @module
 */
export * from './data_error.ts';
export * from './idx.ts';
export * from './split.ts';
export * from './checksums.ts';
export * from './download.ts';
export * from './locate.ts';
export * from './load.ts';
export * from './statistics.ts';
