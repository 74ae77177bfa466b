/** Optimisers over the flat parameter array, and gradient clipping. */
package dev.recur.optim;
