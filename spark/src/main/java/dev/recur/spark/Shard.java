package dev.recur.spark;

import dev.recur.cli.Seeds;

import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * One partition's share of the training data. A task draws its windows for an iteration from
 * its shard alone, as a pure function of (seed, iteration, partition): a task that moves to
 * another executor or is retried draws the same windows, and no state is carried from one
 * iteration to the next (every window starts from h0 = 0).
 */
interface Shard extends Serializable {

    /** {@code count} windows for {@code iteration} on {@code partition}. */
    Windows draw(long seed, long iteration, int partition, int count);

    /** The random stream of one (seed, iteration, partition); the one rule every shard draws by. */
    static SplittableRandom random(long seed, long iteration, int partition) {
        return new SplittableRandom(Seeds.mix(Seeds.mix(Seeds.mix(seed, 0x5ba4c), iteration), partition));
    }

    /** How many of a global batch of {@code batch} sequences partition {@code p} of {@code partitions} trains on. */
    static int share(int batch, int partitions, int p) {
        return batch / partitions + (p < batch % partitions ? 1 : 0);
    }
}
