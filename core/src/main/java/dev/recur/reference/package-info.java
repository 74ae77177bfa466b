/**
 * The independent double-precision definition of recur's networks: {@link dev.recur.reference.ReferenceNetwork}.
 * It shares no code with the engine, so a test or {@code recur gradcheck} that compares the two
 * compares two implementations of the same formulas.
 */
package dev.recur.reference;
