package dev.recur.cli;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;

import java.util.LinkedHashMap;
import java.util.Map;

/** Reads the Vector API's preferred species; only loaded when jdk.incubator.vector is present. */
final class VectorProbe {
    private VectorProbe() {}

    static Map<String, Object> describe() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("vector_species", FloatVector.SPECIES_PREFERRED.toString());
        r.put("vector_bits", VectorShape.preferredShape().vectorBitSize());
        r.put("float_lanes", FloatVector.SPECIES_PREFERRED.length());
        r.put("double_lanes", DoubleVector.SPECIES_PREFERRED.length());
        return r;
    }
}
