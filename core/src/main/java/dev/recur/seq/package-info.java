/**
 * Very long sequences: exact BPTT with checkpoints in O(sqrt T) memory ({@link dev.recur.seq.CheckpointedBptt}),
 * truncated BPTT(k1, k2) ({@link dev.recur.seq.TruncatedBptt}), the store-all baseline
 * ({@link dev.recur.seq.StoreAllBptt}), streamed inputs ({@link dev.recur.seq.InputSource}: arrays, a seeded
 * generator, raw or .npy files larger than memory), accurate time sums ({@link dev.recur.seq.GradAccumulator})
 * and pre-flight memory estimates ({@link dev.recur.seq.MemoryPlan}).
 *
 * <p>All drivers are built on the engine's public API ({@link dev.recur.Rnn}): forward from a
 * given h_0 with the final state carried, backward with an incoming dL/dh_T returning dL/dh_0.
 * Each driver object owns its workspaces: one per thread.
 */
package dev.recur.seq;
