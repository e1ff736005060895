/**
 * A plain `Uint8Array` view of a Node `Buffer` (no copy): @types/node 20's `Buffer` is
 * not assignable to TS 5.9's `Uint8Array`, and plain views compare equal in tests.
 */
export function fromBuffer(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
