/**
 * @resnet/cli — flag schemas shared by the apps: parsing with precise errors, `--help`,
 * `--print-flags`, and the preamble every app's main.ts runs.
 * @module
 */
export * from './flags.ts';
export * from './command.ts';
export * from './run_app.ts';
