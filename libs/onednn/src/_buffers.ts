// Output buffers that are used again instead of allocated afresh. A training step makes
// hundreds of large float32 outputs; a fresh Float32Array is zeroed memory the kernel then
// faults in page by page, which costs more than most kernels' arithmetic (an 11M-element
// SGD update into fresh arrays: ~50 ms; into used ones: ~5 ms). The onednn backend keeps
// the storage of disposed tensors that its own kernels made and hands it to the next kernel
// asking for the same length. While `allowLonger` is set (the training loop and the test pass
// set it for a smaller last batch: 60,000 = 468 × 128 + 96), a request with no free array of its
// length gets a view of a longer one instead (at most `maxOversize` times the length), so that
// step runs in the full batches' storage instead of allocating its own beside it. Only then:
// in steady steps every length has its own arrays, and taking a longer one would leave the
// request of that length without.
//
// Storage is taken back only when nothing else can see it:
// - it was made by `take` (never an array the user wrote into a tensor);
// - exactly one tensor ever stored it, as a whole (no views of it, such as a slice's);
// - it was never read out (`dataSync`, `data`, `arraySync`, … hand out the storage itself).
import {
  buffer,
  type BackendValues,
  type DataId,
  type DataType,
  type Rank,
  type TensorBuffer,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** The pool's default size threshold (elements): shorter outputs are plain allocations (not worth tracking). */
export const DEFAULT_BUFFER_MIN_LENGTH = 4096;

/** Tunables of the pool (tests poison and shrink it). */
export const bufferSettings = {
  /** Reuse storage at all (false: every output is a fresh allocation, as tfjs-backend-cpu does). */
  reuse: true,
  /** Arrays shorter than this are plain allocations (cheap, and not worth tracking). */
  minLength: DEFAULT_BUFFER_MIN_LENGTH,
  /** At most this many bytes wait in the pool; beyond, disposed storage is left to the GC. */
  maxPooledBytes: 2 ** 31,
  /**
   * With `allowLonger`, a request with no free array of its length gets a view of the shortest
   * free array at most this many times longer (a test pass's last batch: 10,000 = 78 × 128 + 16,
   * 8×; the seed protocol's last training batch: 96 of 256, 2.7×); 1: exact lengths only.
   */
  maxOversize: 16,
  /**
   * Fill reused storage with NaN first, so a kernel that relies on zeroed output fails tests
   * (`ONEDNN_POISON_REUSED=1`; jest.preset.js sets it for every suite).
   */
  poison: process.env['ONEDNN_POISON_REUSED'] === '1',
};

/**
 * How storage made by `take` is held: by how many tensors, whether it was read out, the
 * length handed out, and the whole array (longer than that when a view of it was handed out).
 */
interface Holding {
  holders: number;
  escaped: boolean;
  readonly length: number;
  readonly whole: Float32Array;
}

/** Counts since the last reset, for tests and the benchmark's profile. */
export interface BufferStats {
  /** Outputs given storage of a disposed tensor. */
  readonly reused: number;
  /** Of those, outputs given a view of a longer disposed array. */
  readonly reusedLonger: number;
  /** Outputs given fresh storage. */
  readonly allocated: number;
  /** Bytes waiting in the pool now. */
  readonly pooledBytes: number;
}

/** Free storage by length, and what is known of every array `take` handed out. */
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly holdings = new WeakMap<ArrayBuffer, Holding>();
  private pooledBytes = 0;
  private reused = 0;
  private reusedLonger = 0;
  private allocated = 0;
  /** Serve a request with no free array of its length from a longer one (see the file's head). */
  allowLonger = false;

  /**
   * Storage for an output of `length` elements: used storage when some is free (contents
   * arbitrary) — of that length, else (with `allowLonger`) a view of the shortest free array
   * up to `maxOversize` times longer — and a fresh array otherwise.
   */
  take(length: number): Float32Array {
    if (length < bufferSettings.minLength || !bufferSettings.reuse) return new Float32Array(length);
    const spare = this.free.get(length)?.pop() ?? (this.allowLonger ? this.longer(length) : undefined);
    let whole: Float32Array;
    if (spare === undefined) {
      whole = new Float32Array(length);
      this.allocated++;
    } else {
      this.pooledBytes -= spare.byteLength;
      if (bufferSettings.poison) spare.fill(Number.NaN);
      whole = spare;
      this.reused++;
      if (spare.length !== length) this.reusedLonger++;
    }
    const array = whole.length === length ? whole : whole.subarray(0, length);
    this.holdings.set(whole.buffer as ArrayBuffer, { holders: 0, escaped: false, length, whole });
    return array;
  }

  /** The shortest free array longer than `length`, at most `maxOversize` times, taken off its list. */
  private longer(length: number): Float32Array | undefined {
    let best: number | undefined;
    for (const [size, list] of this.free) {
      if (size > length && size <= length * bufferSettings.maxOversize && list.length > 0 && (best === undefined || size < best))
        best = size;
    }
    return best === undefined ? undefined : this.free.get(best)?.pop();
  }

  /** A tensor now stores `values`. */
  stored(values: BackendValues): void {
    const holding = this.holding(values);
    if (holding === undefined) return;
    holding.holders++;
    if (!isHandedOut(values, holding)) holding.escaped = true;
  }

  /** `values` were handed out of the backend (read by the user): never reuse them. */
  readOut(values: BackendValues): void {
    const holding = this.holding(values);
    if (holding !== undefined) holding.escaped = true;
  }

  /** The tensor that stored `values` is gone: keep the storage if nothing else can see it. */
  released(values: BackendValues): void {
    const holding = this.holding(values);
    if (holding === undefined) return;
    if (holding.escaped || holding.holders !== 1 || !isHandedOut(values, holding)) {
      holding.escaped = true;
      return;
    }
    holding.holders = 0;
    const { whole } = holding;
    if (!bufferSettings.reuse || this.pooledBytes + whole.byteLength > bufferSettings.maxPooledBytes) return;
    const list = this.free.get(whole.length) ?? [];
    list.push(whole);
    this.free.set(whole.length, list);
    this.pooledBytes += whole.byteLength;
  }

  /** Forgets every free array (their memory goes back to the GC). */
  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }

  stats(): BufferStats {
    return { reused: this.reused, reusedLonger: this.reusedLonger, allocated: this.allocated, pooledBytes: this.pooledBytes };
  }

  resetStats(): void {
    this.reused = 0;
    this.reusedLonger = 0;
    this.allocated = 0;
  }

  private holding(values: BackendValues | undefined): Holding | undefined {
    return ArrayBuffer.isView(values) ? this.holdings.get(values.buffer as ArrayBuffer) : undefined;
  }
}

/** `values` are the array `take` handed out (whole, or the view of a longer array), not another view of its storage. */
function isHandedOut(values: BackendValues, holding: Holding): boolean {
  return values instanceof Float32Array && values.byteOffset === 0 && values.length === holding.length;
}

/**
 * tfjs-backend-cpu with a {@link BufferPool}: the same storage and kernels, and it tells the
 * pool when a tensor stores, hands out or drops an array.
 */
export class PooledCpuBackend extends MathBackendCPU {
  readonly buffers = new BufferPool();
  /** Keys of tensor data the addon may hold a converted (bf16) copy of; see {@link inputKey}. */
  private readonly keys = new WeakMap<DataId, number>();
  private nextKey = 1;
  /** Told when a keyed tensor's data is disposed (the addon's `forget`), set by registerOnednn. */
  forgetKey: (key: number) => void = () => undefined;

  /**
   * A number naming `dataId`'s data for as long as the process runs (tfjs data never changes,
   * so a converted copy made under this key never goes stale), for the addon's conv calls.
   */
  inputKey(dataId: DataId): number {
    let key = this.keys.get(dataId);
    if (key === undefined) {
      key = this.nextKey++;
      this.keys.set(dataId, key);
    }
    return key;
  }

  constructor() {
    super();
    // No "install tfjs-node" banner: this backend is the fast native one.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    this.buffers.stored(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.buffers.stored(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    const values = super.readSync(dataId);
    this.buffers.readOut(values);
    return values;
  }

  // Kernels of tfjs-backend-cpu read their inputs through bufferSync; that is not a read-out.
  override bufferSync<R extends Rank, D extends DataType>(t: TensorInfo): TensorBuffer<R, D> {
    const values = this.data.get(t.dataId)?.values;
    if (t.dtype === 'string' || values === undefined) return super.bufferSync(t);
    return buffer(t.shape, t.dtype, values as never) as unknown as TensorBuffer<R, D>;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const disposed = super.disposeData(dataId, force);
    if (disposed && values !== undefined && !this.data.has(dataId)) this.buffers.released(values);
    const key = this.keys.get(dataId);
    if (key !== undefined && !this.data.has(dataId)) {
      this.keys.delete(dataId);
      this.forgetKey(key);
    }
    return disposed;
  }

  override dispose(): void {
    this.buffers.clear();
    super.dispose();
  }
}
