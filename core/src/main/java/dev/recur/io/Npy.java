package dev.recur.io;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The .npy format (numpy's {@code NEP 1}): magic {@code \x93NUMPY}, version, header length,
 * a Python-literal dict {@code {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }}
 * padded with spaces to a multiple of 64 bytes and ended by a newline, then the raw values.
 *
 * <p>Reads versions 1.0, 2.0 and 3.0; dtypes {@code <f4 <f8 <i4 <i8} (and their big-endian
 * forms) and a 0-d {@code <U} string; C order only. Writes version 1.0 (2.0 when the header
 * needs it), little-endian. Before allocating anything it checks that the data the header
 * declares is exactly the bytes there are, so a corrupt or hostile header cannot make it
 * allocate more than the file holds.
 */
public final class Npy {
    private Npy() {}

    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Largest header accepted (numpy itself limits headers to 10000 bytes by default). */
    static final int MAX_HEADER = 1 << 16;
    /** Largest number of values in one array (one Java array). */
    static final long MAX_VALUES = Integer.MAX_VALUE - 16;

    // ---------------------------------------------------------------- writing

    /** The .npy bytes of {@code a}. */
    public static byte[] encode(NpyArray a) {
        String descr = switch (a.dtype()) {
            case UNICODE -> "<U" + Math.max(1, a.string().codePointCount(0, a.string().length()));
            default -> "<" + a.dtype().code;
        };
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + NpyArray.shapeString(a.shape())
                + ", }";
        byte[] dictBytes = dict.getBytes(StandardCharsets.US_ASCII);
        int major = dictBytes.length + 1 + 10 > 65535 ? 2 : 1;
        int prefix = major == 1 ? 10 : 12;
        int total = (prefix + dictBytes.length + 1 + 63) / 64 * 64;
        int headerLen = total - prefix;
        long dataBytes = dataBytes(a);
        if (total + dataBytes > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(a + " needs " + (total + dataBytes) + " bytes, expected at most "
                    + (Integer.MAX_VALUE - 16) + " per .npy entry");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) (total + dataBytes)).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) buf.putShort((short) headerLen);
        else buf.putInt(headerLen);
        buf.put(dictBytes);
        for (int k = dictBytes.length; k < headerLen - 1; k++) buf.put((byte) ' ');
        buf.put((byte) '\n');
        switch (a.dtype()) {
            case FLOAT32 -> buf.asFloatBuffer().put((float[]) a.data());
            case FLOAT64 -> buf.asDoubleBuffer().put((double[]) a.data());
            case INT32 -> buf.asIntBuffer().put((int[]) a.data());
            case INT64 -> buf.asLongBuffer().put((long[]) a.data());
            case UNICODE -> {
                String s = a.string();
                var ib = buf.asIntBuffer();
                s.codePoints().forEach(ib::put);
                if (s.isEmpty()) ib.put(0);
            }
        }
        return buf.array();
    }

    private static long dataBytes(NpyArray a) {
        if (a.dtype() == NpyArray.DType.UNICODE) {
            return 4L * Math.max(1, a.string().codePointCount(0, a.string().length()));
        }
        return a.size() * a.dtype().itemSize;
    }

    /** Writes one .npy file (not atomically; models use {@link Npz#write}). */
    public static void write(Path file, NpyArray a) throws IOException {
        Files.write(file, encode(a));
    }

    // ---------------------------------------------------------------- reading

    /** Reads a stand-alone .npy file; {@code what} names it in errors (for example the file name). */
    public static NpyArray read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 16) {
            throw new NpyFormatException(file + ": is " + size + " bytes, expected at most " + (Integer.MAX_VALUE - 16)
                    + " (one Java array)");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, size, file.toString());
        }
    }

    /** Parses a whole .npy held in {@code bytes}; {@code what} names it in errors. */
    public static NpyArray decode(byte[] bytes, String what) throws NpyFormatException {
        try {
            return read(new java.io.ByteArrayInputStream(bytes), bytes.length, what);
        } catch (NpyFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new NpyFormatException(what + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads one .npy of exactly {@code length} bytes from {@code in}; {@code what} names it in
     * errors. Checks the header against the length before allocating the values.
     */
    public static NpyArray read(InputStream in, long length, String what) throws IOException {
        if (length < 10) throw new NpyFormatException(what + ": is " + length + " bytes, too short for a .npy header (expected >= 10)");
        byte[] pre = readN(in, 8, what, "the magic string");
        for (int k = 0; k < MAGIC.length; k++) {
            if (pre[k] != MAGIC[k]) throw new NpyFormatException(what + ": does not start with \\x93NUMPY, not a .npy array");
        }
        int major = pre[6] & 0xff, minor = pre[7] & 0xff;
        if (major < 1 || major > 3 || minor != 0) {
            throw new NpyFormatException(what + ": .npy format version " + major + "." + minor
                    + ", expected 1.0, 2.0 or 3.0");
        }
        int lenBytes = major == 1 ? 2 : 4;
        byte[] lb = readN(in, lenBytes, what, "the header length");
        long headerLen = lenBytes == 2 ? (lb[0] & 0xff) | (lb[1] & 0xff) << 8
                : (lb[0] & 0xffL) | (lb[1] & 0xffL) << 8 | (lb[2] & 0xffL) << 16 | (lb[3] & 0xffL) << 24;
        long prefix = 8 + lenBytes;
        if (headerLen > MAX_HEADER || prefix + headerLen > length) {
            throw new NpyFormatException(what + ": header length " + headerLen + " does not fit (the array has "
                    + length + " bytes; headers are at most " + MAX_HEADER + ")");
        }
        byte[] hb = readN(in, (int) headerLen, what, "the header");
        String header = new String(hb, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Header h = Header.parse(header, what);

        long count = 1;
        for (int d : h.shape) {
            count = Math.multiplyExact(count, (long) d);
            if (count > MAX_VALUES) {
                throw new NpyFormatException(what + ": shape " + NpyArray.shapeString(h.shape) + " has more than "
                        + MAX_VALUES + " values, expected at most that (one Java array)");
            }
        }
        long dataLen = length - prefix - headerLen;
        long expected = count * h.itemSize;
        if (dataLen != expected) {
            throw new NpyFormatException(what + ": header declares " + h.descr + " " + NpyArray.shapeString(h.shape)
                    + " = " + expected + " bytes of data, but " + dataLen + " bytes follow the header"
                    + (dataLen < expected ? " (truncated?)" : ""));
        }
        byte[] data = readN(in, (int) dataLen, what, "the data");
        ByteBuffer buf = ByteBuffer.wrap(data).order(h.order);
        int n = (int) count;
        return switch (h.type) {
            case FLOAT32 -> {
                float[] v = new float[n];
                buf.asFloatBuffer().get(v);
                yield NpyArray.of(v, h.shape);
            }
            case FLOAT64 -> {
                double[] v = new double[n];
                buf.asDoubleBuffer().get(v);
                yield NpyArray.of(v, h.shape);
            }
            case INT32 -> {
                int[] v = new int[n];
                buf.asIntBuffer().get(v);
                yield NpyArray.of(v, h.shape);
            }
            case INT64 -> {
                long[] v = new long[n];
                buf.asLongBuffer().get(v);
                yield NpyArray.of(v, h.shape);
            }
            case UNICODE -> {
                if (h.shape.length != 0) {
                    throw new NpyFormatException(what + ": a str array of shape " + NpyArray.shapeString(h.shape)
                            + ", expected a 0-d str (a single string)");
                }
                StringBuilder sb = new StringBuilder();
                var ib = buf.asIntBuffer();
                while (ib.hasRemaining()) {
                    int cp = ib.get();
                    if (cp == 0) break; // numpy pads with NULs
                    if (!Character.isValidCodePoint(cp)) {
                        throw new NpyFormatException(what + ": str holds " + cp + ", not a Unicode code point");
                    }
                    sb.appendCodePoint(cp);
                }
                yield NpyArray.ofString(sb.toString());
            }
        };
    }

    private static byte[] readN(InputStream in, int n, String what, String part) throws IOException {
        byte[] b = new byte[n];
        int got = in.readNBytes(b, 0, n);
        if (got != n) throw new NpyFormatException(what + ": ends inside " + part + " (truncated)", new EOFException());
        return b;
    }

    /** The parsed header dict. */
    private record Header(String descr, NpyArray.DType type, int itemSize, ByteOrder order, int[] shape) {

        static Header parse(String text, String what) throws NpyFormatException {
            Parser p = new Parser(text, what);
            String descr = null;
            Boolean fortran = null;
            int[] shape = null;
            p.skip();
            p.expect('{');
            while (true) {
                p.skip();
                if (p.peek() == '}') {
                    p.pos++;
                    break;
                }
                String key = p.string();
                p.skip();
                p.expect(':');
                p.skip();
                switch (key) {
                    case "descr" -> descr = p.string();
                    case "fortran_order" -> fortran = p.bool();
                    case "shape" -> shape = p.tuple();
                    default -> throw p.error("unknown key '" + key + "', expected descr, fortran_order and shape");
                }
                p.skip();
                char c = p.next();
                if (c == '}') break;
                if (c != ',') throw p.error("expected ',' or '}'");
            }
            p.skip();
            if (p.pos != text.length()) throw p.error("unexpected text after the header dict");
            if (descr == null || fortran == null || shape == null) {
                throw new NpyFormatException(what + ": header lacks " + (descr == null ? "'descr'" : fortran == null
                        ? "'fortran_order'" : "'shape'") + " (expected descr, fortran_order and shape)");
            }
            if (fortran) {
                throw new NpyFormatException(what + ": fortran_order is True, expected C order "
                        + "(save numpy.ascontiguousarray(a))");
            }
            return of(descr, shape, what);
        }

        static Header of(String descr, int[] shape, String what) throws NpyFormatException {
            if (descr.length() >= 2) {
                char e = descr.charAt(0);
                String code = descr.substring(1);
                ByteOrder order = e == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
                if (e == '<' || e == '>' || e == '=' || e == '|') {
                    for (NpyArray.DType t : NpyArray.DType.values()) {
                        if (t != NpyArray.DType.UNICODE && t.code.equals(code) && e != '|') {
                            return new Header(descr, t, t.itemSize, order, shape);
                        }
                    }
                    if (code.startsWith("U") && e != '|') {
                        int chars;
                        try {
                            chars = Integer.parseInt(code.substring(1));
                        } catch (NumberFormatException x) {
                            chars = -1;
                        }
                        if (chars >= 0 && chars <= (MAX_VALUES / 4)) {
                            return new Header(descr, NpyArray.DType.UNICODE, 4 * chars, order, shape);
                        }
                    }
                }
            }
            throw new NpyFormatException(what + ": dtype '" + descr + "' is not supported, expected one of "
                    + "<f4 (float32), <f8 (float64), <i4 (int32), <i8 (int64), or a 0-d <U string");
        }
    }

    /** A parser for the tiny Python-literal subset numpy writes. */
    private static final class Parser {
        final String s;
        final String what;
        int pos;

        Parser(String s, String what) {
            this.s = s;
            this.what = what;
        }

        NpyFormatException error(String msg) {
            return new NpyFormatException(what + ": bad .npy header at character " + pos + ": " + msg
                    + " (header: " + abbreviate(s) + ")");
        }

        static String abbreviate(String s) {
            String t = s.strip();
            StringBuilder b = new StringBuilder();
            for (int k = 0; k < Math.min(t.length(), 120); k++) {
                char c = t.charAt(k);
                b.append(c >= 0x20 && c < 0x7f ? c : '?');
            }
            if (t.length() > 120) b.append("...");
            return b.toString();
        }

        void skip() {
            while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\n' || s.charAt(pos) == '\t'
                    || s.charAt(pos) == '\r')) pos++;
        }

        char peek() throws NpyFormatException {
            if (pos >= s.length()) throw error("unexpected end of the header");
            return s.charAt(pos);
        }

        char next() throws NpyFormatException {
            char c = peek();
            pos++;
            return c;
        }

        void expect(char c) throws NpyFormatException {
            if (next() != c) {
                pos--;
                throw error("expected '" + c + "'");
            }
        }

        String string() throws NpyFormatException {
            char q = next();
            if (q != '\'' && q != '"') {
                pos--;
                throw error("expected a quoted string");
            }
            int end = s.indexOf(q, pos);
            if (end < 0) throw error("unterminated string");
            String r = s.substring(pos, end);
            pos = end + 1;
            return r;
        }

        boolean bool() throws NpyFormatException {
            if (s.startsWith("True", pos)) {
                pos += 4;
                return true;
            }
            if (s.startsWith("False", pos)) {
                pos += 5;
                return false;
            }
            throw error("expected True or False");
        }

        int[] tuple() throws NpyFormatException {
            expect('(');
            List<Integer> dims = new ArrayList<>();
            while (true) {
                skip();
                if (peek() == ')') {
                    pos++;
                    break;
                }
                int start = pos;
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
                if (pos == start) throw error("expected a non-negative integer in the shape");
                long d;
                try {
                    d = Long.parseLong(s.substring(start, pos));
                } catch (NumberFormatException e) {
                    d = Long.MAX_VALUE;
                }
                if (d > Integer.MAX_VALUE) {
                    pos = start;
                    throw error("dimension " + s.substring(start, Math.min(s.length(), start + 24))
                            + " is larger than " + Integer.MAX_VALUE);
                }
                if (pos < s.length() && s.charAt(pos) == 'L') pos++; // Python 2 long
                dims.add((int) d);
                if (dims.size() > 32) throw error("more than 32 dimensions");
                skip();
                char c = next();
                if (c == ')') break;
                if (c != ',') throw error("expected ',' or ')' in the shape");
            }
            return dims.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
