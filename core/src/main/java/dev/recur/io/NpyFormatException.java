package dev.recur.io;

import java.io.IOException;

/**
 * A file that is not a valid .npy/.npz array or recur model. The message says which file, which
 * entry and exactly what is wrong with it (and what was expected).
 */
public class NpyFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * A malformed file.
     *
     * @param message what is wrong and where (the file and the header or entry)
     */
    public NpyFormatException(String message) { super(message); }

    /**
     * A malformed file found through another failure.
     *
     * @param message what is wrong and where
     * @param cause   the underlying failure (a decoding or zip error)
     */
    public NpyFormatException(String message, Throwable cause) { super(message, cause); }
}
