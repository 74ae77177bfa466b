package dev.recur.bench;

/**
 * The nine classic configurations (cases "0".."8" of bench/peers/cases.json: I = O = 64, softmax
 * cross-entropy summed, h0 = 0, forward + loss + full BPTT per sequence) with the reference best
 * peer's steps/s of bench/peers/CASES.md ("Reference figures of the classic configurations":
 * PyTorch 1.13 nn.RNN + OpenBLAS, or numpy float32, whichever was faster, measured on another
 * day). The report quotes them only for rows where no peer ran beside recur; rerun the peers
 * with bench/profile.sh for ratios you quote (see BENCHMARKS.md).
 */
public record PeerConfigs(int index, int hidden, int batch, int steps, String activation,
                          double peer1, double peer2) {

    public static final int INPUT = 64, OUTPUT = 64;

    public static final PeerConfigs[] ALL = {
        new PeerConfigs(0, 128, 1, 2000, "tanh", 11_857, 7_669),
        new PeerConfigs(1, 256, 1, 2000, "tanh", 6_096, 6_339),
        new PeerConfigs(2, 512, 1, 1000, "tanh", 2_263, 2_508),
        new PeerConfigs(3, 1024, 1, 500, "tanh", 410, 649),
        new PeerConfigs(4, 256, 32, 500, "tanh", 74_063, 104_754),
        new PeerConfigs(5, 512, 64, 200, "tanh", 30_229, 52_768),
        new PeerConfigs(6, 1024, 64, 100, "tanh", 7_700, 15_778),
        new PeerConfigs(7, 256, 1, 2000, "relu", 5_887, 6_579),
        new PeerConfigs(8, 512, 64, 200, "relu", 31_686, 52_929),
    };

    /** Flops per sequence by the peers' convention B*T*(6H^2 + 6HI + 6HO) for {@code steps} steps. */
    public double flops(int steps) {
        double h = hidden;
        return (double) batch * steps * (6 * h * h + 6 * h * INPUT + 6 * h * OUTPUT);
    }

    /**
     * Steps per measured sequence for a kernel path: the config's T for vector; for scalar a
     * shorter T (about 1 GFLOP per sequence, at least 16 steps) so a scalar run of the big
     * configs takes about a second, not a minute. steps/s stays comparable: the per-step work
     * does not depend on T.
     */
    public int stepsFor(String kernels) {
        if (!kernels.equals("scalar")) return steps;
        double perStep = flops(1);
        return (int) Math.max(16, Math.min(steps, Math.floor(1e9 / perStep)));
    }
}
