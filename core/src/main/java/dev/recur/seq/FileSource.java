package dev.recur.seq;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A sequence read from two files, one for inputs and one for targets, each either raw
 * little-endian ({@code float32} for dense, {@code int32} for class indices; no header) or
 * numpy {@code .npy} (version 1-3, dtype {@code <f4} or {@code <i4}, C order; the first
 * dimension is time, the rest multiply to B*I, B*O or B). Files may be far larger than the heap:
 * reads go through {@link FileChannel#read(ByteBuffer, long)} in chunks into one direct buffer
 * allocated at construction, so a read allocates nothing.
 *
 * <p>Layout as in memory: time-major, {@code x[t][r][i]}. The number of steps follows from the
 * file sizes, which must agree. Close the source to release the files.
 */
public final class FileSource implements InputSource {
    private static final int CHUNK_BYTES = 1 << 20;

    private final Part in, target;
    private final long steps;
    private final int batch, input, output;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final FloatBuffer floats = buf.asFloatBuffer();
    private final IntBuffer ints = buf.asIntBuffer();

    /**
     * Opens the two files and checks their sizes against each other.
     *
     * @param inputs      input file (.npy if the name ends in .npy, else raw)
     * @param inputKind   DENSE: float32, I per step and sequence; CLASS: int32, one per step and sequence
     * @param targets     target file (.npy or raw)
     * @param targetKind  CLASS: int32, one per step and sequence; DENSE: float32, O per step and sequence
     */
    public FileSource(Path inputs, Kind inputKind, Path targets, Kind targetKind, int batch, int input, int output) {
        dev.recur.internal.Checks.positive("batch", batch);
        dev.recur.internal.Checks.positive("input", input);
        dev.recur.internal.Checks.positive("output", output);
        if (inputKind == null || targetKind == null) throw new IllegalArgumentException("input and target kinds must not be null");
        this.batch = batch;
        this.input = input;
        this.output = output;
        Part a = null, b = null;
        try {
            a = Part.open("inputs", inputs, inputKind, inputKind == Kind.DENSE ? (long) batch * input : batch);
            b = Part.open("targets", targets, targetKind, targetKind == Kind.DENSE ? (long) batch * output : batch);
            if (a.steps != b.steps) {
                throw new IllegalArgumentException("inputs file " + inputs + " holds " + a.steps + " steps but targets file "
                        + targets + " holds " + b.steps + ", expected the same number of steps");
            }
            if (a.steps == 0) throw new IllegalArgumentException("inputs file " + inputs + " holds 0 steps, expected > 0");
        } catch (RuntimeException e) {
            if (a != null) a.closeQuietly();
            if (b != null) b.closeQuietly();
            throw e;
        }
        this.in = a;
        this.target = b;
        this.steps = a.steps;
    }

    @Override public long steps() { return steps; }
    @Override public int batch() { return batch; }
    @Override public int inputSize() { return input; }
    @Override public int outputSize() { return output; }
    @Override public Kind inputKind() { return in.kind; }
    @Override public Kind targetKind() { return target.kind; }

    @Override
    public void read(long t0, Segment into) {
        int n = into.steps();
        InputSource.checkRange(this, t0, n);
        if (in.kind == Kind.DENSE) readFloats(in, t0, n, into.denseInputs());
        else readInts(in, t0, n, into.classInputs(), input, "inputs");
        if (target.kind == Kind.CLASS) readInts(target, t0, n, into.classTargets(), output, "targets");
        else readFloats(target, t0, n, into.denseTargets());
    }

    private void readFloats(Part p, long t0, int n, float[] dst) {
        long count = (long) n * p.perStep;
        long pos = p.dataOffset + t0 * p.perStep * 4;
        int off = 0;
        while (count > 0) {
            int m = (int) Math.min(count, CHUNK_BYTES / 4);
            fill(p, pos, m * 4);
            floats.position(0).limit(m);
            floats.get(dst, off, m);
            off += m;
            count -= m;
            pos += m * 4L;
        }
    }

    private void readInts(Part p, long t0, int n, int[] dst, int bound, String what) {
        long count = (long) n * p.perStep;
        long pos = p.dataOffset + t0 * p.perStep * 4;
        int off = 0;
        while (count > 0) {
            int m = (int) Math.min(count, CHUNK_BYTES / 4);
            fill(p, pos, m * 4);
            ints.position(0).limit(m);
            ints.get(dst, off, m);
            for (int k = off; k < off + m; k++) {
                if (dst[k] < 0 || dst[k] >= bound) {
                    long step = t0 + k / p.perStep;
                    throw new IllegalArgumentException(what + " file " + p.path + ": value " + dst[k] + " at step " + step
                            + ", expected a class index in [0, " + bound + ")");
                }
            }
            off += m;
            count -= m;
            pos += m * 4L;
        }
    }

    private void fill(Part p, long pos, int bytes) {
        buf.clear().limit(bytes);
        try {
            while (buf.hasRemaining()) {
                int r = p.channel.read(buf, pos + buf.position());
                if (r < 0) throw new IOException("unexpected end of file at byte " + (pos + buf.position()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + p.path + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        in.closeQuietly();
        target.closeQuietly();
    }

    /** One open file: where its data start and how many steps it holds. */
    private static final class Part {
        final Path path;
        final FileChannel channel;
        final Kind kind;
        final long perStep;
        final long dataOffset;
        final long steps;

        private Part(Path path, FileChannel channel, Kind kind, long perStep, long dataOffset, long steps) {
            this.path = path;
            this.channel = channel;
            this.kind = kind;
            this.perStep = perStep;
            this.dataOffset = dataOffset;
            this.steps = steps;
        }

        static Part open(String what, Path path, Kind kind, long perStep) {
            if (path == null) throw new IllegalArgumentException(what + " path is null");
            FileChannel ch;
            try {
                ch = FileChannel.open(path, StandardOpenOption.READ);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot open " + what + " file " + path + ": " + e, e);
            }
            try {
                long size = ch.size();
                long offset = 0, elements;
                String expectDtype = kind == Kind.DENSE ? "<f4" : "<i4";
                if (path.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".npy")) {
                    Npy h = Npy.read(ch, path);
                    if (!h.descr.equals(expectDtype) && !(kind == Kind.DENSE ? h.descr.equals("<f4") : h.descr.equals("|i4"))) {
                        throw new IllegalArgumentException(what + " file " + path + " has dtype '" + h.descr + "', expected '"
                                + expectDtype + "' (" + (kind == Kind.DENSE ? "float32" : "int32") + " little-endian)");
                    }
                    if (h.fortran) throw new IllegalArgumentException(what + " file " + path + " is in Fortran order, expected C order");
                    offset = h.dataOffset;
                    elements = 1;
                    for (long d : h.shape) elements *= d;
                    long rest = 1;
                    for (int k = 1; k < h.shape.length; k++) rest *= h.shape[k];
                    if (h.shape.length >= 1 && rest != perStep && h.shape.length > 1) {
                        throw new IllegalArgumentException(what + " file " + path + " has shape " + java.util.Arrays.toString(h.shape)
                                + ", expected (T, ...) with the trailing dimensions multiplying to " + perStep);
                    }
                    if (size - offset < elements * 4) {
                        throw new IllegalArgumentException(what + " file " + path + " is truncated: header says " + elements
                                + " elements, file holds " + (size - offset) / 4);
                    }
                } else {
                    if (size % 4 != 0) {
                        throw new IllegalArgumentException(what + " file " + path + " has " + size
                                + " bytes, expected a multiple of 4 (raw little-endian " + (kind == Kind.DENSE ? "float32)" : "int32)"));
                    }
                    elements = size / 4;
                }
                if (elements % perStep != 0) {
                    throw new IllegalArgumentException(what + " file " + path + " holds " + elements + " values, expected a multiple of "
                            + perStep + " (" + (kind == Kind.DENSE ? "batch*width" : "batch") + " per step)");
                }
                return new Part(path, ch, kind, perStep, offset, elements / perStep);
            } catch (IOException e) {
                closeQuietly(ch);
                throw new UncheckedIOException("reading " + what + " file " + path + ": " + e, e);
            } catch (RuntimeException e) {
                closeQuietly(ch);
                throw e;
            }
        }

        void closeQuietly() { closeQuietly(channel); }

        private static void closeQuietly(FileChannel c) {
            try {
                c.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }

    /** The parsed header of a .npy file. */
    static final class Npy {
        final String descr;
        final boolean fortran;
        final long[] shape;
        final long dataOffset;

        private Npy(String descr, boolean fortran, long[] shape, long dataOffset) {
            this.descr = descr;
            this.fortran = fortran;
            this.shape = shape;
            this.dataOffset = dataOffset;
        }

        private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
        private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
        private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

        static Npy read(FileChannel ch, Path path) throws IOException {
            ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, pre, 0);
            pre.flip();
            byte[] magic = new byte[6];
            pre.get(magic);
            if ((magic[0] & 0xff) != 0x93 || !new String(magic, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
                throw new IllegalArgumentException(path + " is not a .npy file (no \\x93NUMPY magic)");
            }
            int major = pre.get() & 0xff;
            pre.get();
            long headerLen, start;
            if (major == 1) {
                headerLen = pre.getShort() & 0xffff;
                start = 10;
            } else if (major == 2 || major == 3) {
                headerLen = pre.getInt() & 0xffffffffL;
                start = 12;
            } else {
                throw new IllegalArgumentException(path + ": .npy version " + major + ", expected 1, 2 or 3");
            }
            if (headerLen > 1 << 20) throw new IllegalArgumentException(path + ": .npy header of " + headerLen + " bytes, too long");
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, start);
            String header = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
            if (!d.find() || !f.find() || !s.find()) {
                throw new IllegalArgumentException(path + ": cannot parse the .npy header '" + header.trim() + "'");
            }
            String[] dims = s.group(1).split(",");
            java.util.List<Long> shape = new java.util.ArrayList<>();
            for (String dim : dims) {
                if (!dim.isBlank()) shape.add(Long.parseLong(dim.trim()));
            }
            long[] sh = new long[shape.size()];
            for (int k = 0; k < sh.length; k++) sh[k] = shape.get(k);
            return new Npy(d.group(1), f.group(1).equals("True"), sh, start + headerLen);
        }

        private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
            while (b.hasRemaining()) {
                int r = ch.read(b, pos + b.position());
                if (r < 0) throw new IOException("unexpected end of file");
            }
        }
    }
}
