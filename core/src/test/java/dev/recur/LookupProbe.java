package dev.recur;

import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.KernelsLookup;

/** Run by KernelLookupTest in a JVM without jdk.incubator.vector: prints what the lookup says. */
final class LookupProbe {
    private LookupProbe() {}

    public static void main(String[] args) {
        System.out.println("auto=" + KernelsLookup.resolve(KernelChoice.AUTO).name());
        System.out.println("reason=" + KernelsLookup.reason());
        try {
            KernelsLookup.resolve(KernelChoice.VECTOR);
            System.out.println("vector=resolved");
        } catch (UnsupportedOperationException e) {
            System.out.println("vector=UnsupportedOperationException: " + e.getMessage());
        }
    }
}
