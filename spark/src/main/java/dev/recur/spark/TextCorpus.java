package dev.recur.spark;

import dev.recur.cli.CliException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.input.PortableDataStream;
import scala.Tuple2;

import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/**
 * A character corpus read by Spark: one file, a folder or a glob, on any file system Hadoop
 * reaches (local paths, {@code hdfs://}; {@code s3a://} with Hadoop's S3 connector on the class
 * path). Files are read whole ({@code binaryFiles}), so newlines survive, decoded as UTF-8 and
 * concatenated in path order into one stream, which is cut into the partitions' segments
 * ({@link StreamShard}) by a shuffle keyed by partition index. The vocabulary is the sorted set
 * of code points, as {@code recur train --data} makes it.
 */
final class TextCorpus {
    private TextCorpus() {}

    /** A prepared corpus: the partitions' shards (cached), the vocabulary and the stream's length. */
    record Prepared(JavaRDD<Shard> shards, String vocabulary, long length, int files) {}

    /** What a first pass learns about one file. */
    record FileStats(String path, long length, int[] codePoints, String error) implements Serializable {}

    /** A run of the stream bound for one partition. */
    record Piece(long offset, int[] symbols) implements Serializable {}

    static Prepared read(JavaSparkContext sc, String path, int partitions, int steps) {
        requireInput(sc.hadoopConfiguration(), path);
        JavaPairRDD<String, PortableDataStream> files = sc.binaryFiles(path, partitions);
        List<FileStats> stats = new ArrayList<>(files.map(kv -> stats(kv._1(), kv._2())).collect());
        stats.sort(Comparator.comparing(FileStats::path));
        if (stats.isEmpty()) throw CliException.runtime("--data " + path + ": holds no files, expected UTF-8 text");
        TreeSet<Integer> vocab = new TreeSet<>();
        long length = 0;
        String[] names = new String[stats.size()];
        long[] offsets = new long[stats.size()];
        for (int k = 0; k < stats.size(); k++) {
            FileStats s = stats.get(k);
            if (s.error() != null) throw CliException.runtime("--data " + s.path() + ": " + s.error());
            names[k] = s.path();
            offsets[k] = length;
            length += s.length();
            for (int c : s.codePoints()) vocab.add(c);
        }
        if (length < steps + 1L) {
            throw CliException.runtime("--data " + path + ": has " + length + " characters, expected at least --seq-len + 1 = "
                    + (steps + 1));
        }
        int[] codePoints = vocab.stream().mapToInt(Integer::intValue).toArray();
        long[][] needs = new long[partitions][];
        for (int p = 0; p < partitions; p++) needs[p] = StreamShard.needs(length, steps, partitions, p);
        final long total = length;
        JavaRDD<Shard> shards = files
                .flatMapToPair(kv -> pieces(kv._1(), kv._2(), names, offsets, codePoints, needs).iterator())
                .partitionBy(new IndexPartitioner(partitions))
                .mapPartitionsWithIndex((p, it) -> List.of(assemble(p, it, total, steps, partitions)).iterator(), true);
        shards.persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        return new Prepared(shards, new String(codePoints, 0, codePoints.length), length, stats.size());
    }

    /** A missing file or folder is a runtime error naming the option, before any job starts. */
    static void requireInput(Configuration conf, String path) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(conf);
            FileStatus[] found = fs.globStatus(p);
            if (found == null || found.length == 0) {
                throw CliException.runtime("--data " + path + ": no such file or folder");
            }
        } catch (IOException | IllegalArgumentException e) {
            throw CliException.runtime("--data " + path + ": cannot read it (" + Errors.rootMessage(e) + ")", e);
        }
    }

    private static FileStats stats(String path, PortableDataStream in) {
        String text;
        try {
            text = decode(in.toArray());
        } catch (IllegalArgumentException e) {
            return new FileStats(path, -1, null, e.getMessage());
        }
        int[] cps = text.codePoints().toArray();
        int[] distinct = Arrays.stream(cps).distinct().sorted().toArray();
        return new FileStats(path, cps.length, distinct, null);
    }

    /** Strict UTF-8; a leading byte-order mark is dropped, as {@code recur train --data} does. */
    static String decode(byte[] bytes) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        if (dec.decode(in, out, true).isError()) {
            throw new IllegalArgumentException("is not UTF-8 text (invalid bytes at offset " + in.position()
                    + "), expected a UTF-8 text file");
        }
        dec.flush(out);
        out.flip();
        String s = out.toString();
        return !s.isEmpty() && s.charAt(0) == '\uFEFF' ? s.substring(1) : s;
    }

    /** The parts of one file that each partition needs, as vocabulary indices. */
    private static List<Tuple2<Integer, Piece>> pieces(String path, PortableDataStream in, String[] names, long[] offsets,
                                                       int[] codePoints, long[][] needs) {
        int k = Arrays.binarySearch(names, path);
        if (k < 0) throw new IllegalStateException(path + " appeared after the corpus was measured");
        int[] cps = decode(in.toArray()).codePoints().toArray();
        long from = offsets[k], to = from + cps.length;
        List<Tuple2<Integer, Piece>> out = new ArrayList<>();
        for (int p = 0; p < needs.length; p++) {
            long a = Math.max(from, needs[p][0]), b = Math.min(to, needs[p][1]);
            if (a >= b) continue;
            int[] sym = new int[(int) (b - a)];
            for (int j = 0; j < sym.length; j++) sym[j] = Arrays.binarySearch(codePoints, cps[(int) (a - from) + j]);
            out.add(new Tuple2<>(p, new Piece(a, sym)));
        }
        return out;
    }

    /** Partition p's segment from its pieces, in stream order whatever order they arrived in. */
    private static Shard assemble(int p, java.util.Iterator<Tuple2<Integer, Piece>> it, long length, int steps,
                                  int partitions) {
        long[] need = StreamShard.needs(length, steps, partitions, p);
        long[] starts = StreamShard.starts(length, steps, partitions, p);
        int[] seg = new int[(int) (need[1] - need[0])];
        long covered = 0;
        while (it.hasNext()) {
            Piece piece = it.next()._2();
            System.arraycopy(piece.symbols(), 0, seg, (int) (piece.offset() - need[0]), piece.symbols().length);
            covered += piece.symbols().length;
        }
        if (covered != seg.length) {
            throw new IllegalStateException("partition " + p + " received " + covered + " symbols, expected " + seg.length);
        }
        return new StreamShard(seg, need[0], starts[0], starts[1], steps);
    }
}
