/**
 * What convolutions compute in — a setting of a run, as its schedule is: `fp32`, or `bf16`
 * mixed precision (bf16 inputs, fp32 accumulation, outputs, weights, optimizer state and
 * batch-norm statistics), which only the onednn backend runs, on a CPU with native bf16
 * (avx512_core_bf16 or AMX). Backends check it; run directories record it.
 * @example PRECISIONS.includes('bf16') // true
 */
export const PRECISIONS = ['fp32', 'bf16'] as const;

/** A `--precision` value. */
export type Precision = (typeof PRECISIONS)[number];
