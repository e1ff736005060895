/**
 * @resnet/cli — flag schemas shared by the apps: parsing with precise errors, `--help`,
 * `--print-flags`, output paths checked before work, and how every app ends (signals, cleanups,
 * system errors as one line).
 * @module
 */
export * from './flags.ts';
export * from './command.ts';
export * from './run_app.ts';
export * from './lifecycle.ts';
