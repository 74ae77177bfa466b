package dev.recur.spark;

import org.apache.spark.Partitioner;

/** Sends key k (an Integer in [0, n)) to partition k: records keyed by index land where the index says. */
final class IndexPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int partitions;

    IndexPartitioner(int partitions) {
        if (partitions < 1) throw new IllegalArgumentException("partitions = " + partitions + ", expected >= 1");
        this.partitions = partitions;
    }

    @Override public int numPartitions() { return partitions; }

    @Override
    public int getPartition(Object key) {
        int k = (Integer) key;
        if (k < 0 || k >= partitions) throw new IllegalArgumentException("key " + k + " outside [0, " + partitions + ")");
        return k;
    }

    @Override public boolean equals(Object o) { return o instanceof IndexPartitioner p && p.partitions == partitions; }

    @Override public int hashCode() { return partitions; }
}
