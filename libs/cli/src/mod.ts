/**
 * @resnet/cli — flag schemas shared by the apps: parsing with precise errors, and `--help`.
 * @module
 */
export * from './flags.ts';
export * from './nx_args.ts';
export * from './run_app.ts';
