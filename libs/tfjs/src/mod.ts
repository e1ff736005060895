/**
 * @resnet/tfjs — the interpreter that lowers @resnet/spec layers to TensorFlow.js
 * variables and ops. Backend-agnostic: register a backend (cpu, onednn, tensorflow,
 * wasm) before use.
 * @module
 */
export * from './model.ts';
export * from './forward.ts';
export * from './gradients.ts';
export * from './layers_model.ts';
export { mulberry32 } from './random.ts';
export * from './memory.ts';
