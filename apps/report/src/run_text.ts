/**
 * How a run's recorded settings read wherever report.md names them (the summary table, the notes
 * above it, the run's own section): its backend, its machine, its changes of plan.
 */
import { referenceLabel } from '@resnet/results';
import type { RunConfig } from '@resnet/run-dir';

/**
 * The backend a run trained on, after the reference's label for a reference run.
 * @example backendText(config) // 'onednn, cpu (2 threads, oneDNN 2.6.3, avx512_core_bf16)'
 */
export function backendText(c: RunConfig): string {
  const made = c.reference === null ? '' : `${referenceLabel(c.reference)}, `;
  if (c.backend === null) return `${made}not recorded`;
  return `${made}${c.backend.name === c.reference?.framework ? '' : `${c.backend.name}, `}${c.backend.device}`;
}

/**
 * The machine a run trained on.
 * @example machineText(config) // '2× AMD EPYC, 24 GiB, linux-x64'
 */
export function machineText(c: RunConfig): string {
  const m = c.machine;
  return m === null ? 'not recorded' : `${m.cpus}× ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}`;
}

/**
 * A run's changes of plan by `--resume --epochs=N`, in order.
 * @example describeReplans(config) // 'planned 2 → 3 epochs after 2 epochs'
 */
export function describeReplans(c: RunConfig): string {
  const replan = (p: RunConfig['replanned'][number]): string => {
    const steps = p.afterStep > 0 ? ` and ${p.afterStep} steps` : '';
    return `planned ${p.from} → ${p.to} epochs after ${p.afterEpoch} epoch${p.afterEpoch === 1 ? '' : 's'}${steps}`;
  };
  return c.replanned.map(replan).join('; ');
}
