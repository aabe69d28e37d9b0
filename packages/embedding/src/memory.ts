/** Makers of the typed arrays the embeddings use, in plain or in shared memory. */
export interface Memory {
  f64(len: number): Float64Array;
  f32(len: number): Float32Array;
  i32(len: number): Int32Array;
}

const plainMemory: Memory = {
  f64: (len) => new Float64Array(len),
  f32: (len) => new Float32Array(len),
  i32: (len) => new Int32Array(len),
};

const sharedMemory: Memory = {
  f64: (len) => new Float64Array(new SharedArrayBuffer(8 * len)),
  f32: (len) => new Float32Array(new SharedArrayBuffer(4 * len)),
  i32: (len) => new Int32Array(new SharedArrayBuffer(4 * len)),
};

/** `shared`: in SharedArrayBuffers, which worker threads read and write. */
export function memory(shared: boolean): Memory {
  return shared ? sharedMemory : plainMemory;
}
