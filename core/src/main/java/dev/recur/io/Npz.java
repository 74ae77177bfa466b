package dev.recur.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * numpy's .npz: a zip archive of .npy files, one per named array ({@code name.npy}), STORED
 * (numpy.savez) or DEFLATED (numpy.savez_compressed).
 *
 * <p>Reading checks every entry's CRC-32 and size, and checks declared sizes against the file
 * before allocating: a corrupt or hostile file gives an {@link NpyFormatException} that names
 * the file, the entry and the problem, never an OutOfMemoryError or a hang.
 *
 * <p>{@link #write} is atomic: it writes a temporary file in the target's folder, flushes and
 * fsyncs it, and renames it over the target, so a reader (or a crash at any moment) sees the
 * old complete file or the new complete file, never a mix.
 */
public final class Npz {
    private Npz() {}

    /** Deflate cannot expand data by more than about 1032:1; a larger declared ratio is corrupt. */
    private static final long MAX_DEFLATE_RATIO = 1100;
    /** Fixed entry time (1980-01-01), so the same arrays give the same bytes. */
    private static final long ENTRY_TIME = java.time.LocalDateTime.of(1980, 1, 1, 0, 0)
            .atZone(java.time.ZoneId.systemDefault()).toInstant().toEpochMilli();

    /** Reads every {@code *.npy} entry, in archive order, keyed by name without ".npy". */
    public static Map<String, NpyArray> read(Path file) throws IOException {
        long fileSize;
        try {
            fileSize = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "no such file");
        }
        if (fileSize < 22) {
            throw new NpyFormatException(file + ": is " + fileSize + " bytes, too short for an .npz (zip) archive");
        }
        Map<String, NpyArray> out = new LinkedHashMap<>();
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException | java.io.EOFException e) {
            // a damaged end-of-central-directory record can make ZipFile read past the end (EOFException, no message)
            throw new NpyFormatException(file + ": is not a valid .npz (zip) archive ("
                    + (e.getMessage() != null ? e.getMessage() : "its directory points past the end of the file") + ")", e);
        }
        try (zip) {
            long maxMemory = Runtime.getRuntime().maxMemory();
            Enumeration<? extends ZipEntry> en = zip.entries();
            while (en.hasMoreElements()) {
                ZipEntry e = en.nextElement();
                String name = e.getName();
                if (e.isDirectory() || !name.endsWith(".npy")) continue;
                String key = name.substring(0, name.length() - 4);
                String what = file + ": entry '" + name + "'";
                if (out.containsKey(key)) throw new NpyFormatException(what + " appears twice");
                long size = e.getSize(), csize = e.getCompressedSize();
                if (size < 0 || csize < 0) throw new NpyFormatException(what + " has no size in the zip directory");
                if (csize > fileSize) {
                    throw new NpyFormatException(what + " declares " + csize + " compressed bytes, more than the file's "
                            + fileSize);
                }
                if (e.getMethod() == ZipEntry.STORED && size != csize) {
                    throw new NpyFormatException(what + " is stored uncompressed but declares " + size + " bytes and "
                            + csize + " compressed bytes, expected equal sizes");
                }
                if (size > csize * MAX_DEFLATE_RATIO + 1024) {
                    throw new NpyFormatException(what + " declares " + size + " bytes from " + csize
                            + " compressed bytes, more than deflate can produce (corrupt)");
                }
                if (size > Integer.MAX_VALUE - 16) {
                    throw new NpyFormatException(what + " declares " + size + " bytes, expected at most "
                            + (Integer.MAX_VALUE - 16) + " (one Java array)");
                }
                if (size * 2 > maxMemory) {
                    throw new NpyFormatException(what + " declares " + size + " bytes, too much for this JVM's heap ("
                            + maxMemory + " bytes; raise -Xmx, e.g. RECUR_JAVA_OPTS=-Xmx8g)");
                }
                byte[] bytes = new byte[(int) size];
                CRC32 crc = new CRC32();
                try (InputStream in = zip.getInputStream(e)) {
                    int got = in.readNBytes(bytes, 0, bytes.length);
                    if (got != size) {
                        throw new NpyFormatException(what + " is truncated: " + got + " of " + size + " bytes");
                    }
                    if (in.read() != -1) throw new NpyFormatException(what + " holds more bytes than its declared " + size);
                } catch (ZipException | java.io.EOFException x) {
                    throw new NpyFormatException(what + " is corrupt (" + x.getMessage() + ")", x);
                }
                crc.update(bytes);
                if (crc.getValue() != e.getCrc()) {
                    throw new NpyFormatException(what + " fails its CRC-32 check (stored " + Long.toHexString(e.getCrc())
                            + ", computed " + Long.toHexString(crc.getValue()) + "): the file is corrupt");
                }
                out.put(key, Npy.decode(bytes, what));
            }
        } catch (IllegalArgumentException | IllegalStateException x) {
            // java.util.zip reports some malformed archives (bad names, bad extra fields) this way
            throw new NpyFormatException(file + ": is not a valid .npz (zip) archive (" + x.getMessage() + ")", x);
        }
        return out;
    }

    /**
     * Writes {@code arrays} as {@code name.npy} entries, atomically (see the class comment).
     * {@code compress} deflates the entries (numpy.savez_compressed); otherwise they are stored.
     */
    public static void write(Path file, Map<String, NpyArray> arrays, boolean compress) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "the folder to save into does not exist");
        }
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                OutputStream os = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                ZipOutputStream zos = new ZipOutputStream(os);
                for (Map.Entry<String, NpyArray> a : arrays.entrySet()) {
                    byte[] bytes = Npy.encode(a.getValue());
                    ZipEntry e = new ZipEntry(a.getKey() + ".npy");
                    e.setTime(ENTRY_TIME);
                    if (compress) {
                        e.setMethod(ZipEntry.DEFLATED);
                    } else {
                        CRC32 crc = new CRC32();
                        crc.update(bytes);
                        e.setMethod(ZipEntry.STORED);
                        e.setSize(bytes.length);
                        e.setCompressedSize(bytes.length);
                        e.setCrc(crc.getValue());
                    }
                    zos.putNextEntry(e);
                    zos.write(bytes);
                    zos.closeEntry();
                }
                zos.finish();
                os.flush();
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot save " + target + " atomically: this file system cannot rename "
                        + "atomically within " + dir, e);
            }
            moved = true;
            syncDirectory(dir);
        } finally {
            if (!moved) Files.deleteIfExists(tmp);
        }
    }

    /** fsync the folder so the rename itself is durable (where the OS allows it). */
    private static void syncDirectory(Path dir) {
        if (dir == null) return;
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not every platform can open a folder for fsync; the rename is still atomic
        }
    }
}
