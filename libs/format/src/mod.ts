/**
 * @resnet/format — numbers for people, each quantity shown one way everywhere: durations,
 * counts, multiply-accumulates, memory, accuracies, ratios and shares. The apps, the report,
 * the results lib and the web page (in the browser) import it. Pure: no I/O, no tfjs.
 * @module
 */
export * from './format.ts';
