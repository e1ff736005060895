/**
 * @resnet/onnx — exports a spec and its trained tensors as an ONNX model (bytes).
 * Pure: no tfjs, no I/O; the caller writes the file.
 * @module
 */
export * from './to_onnx.ts';
