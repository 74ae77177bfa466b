package dev.recur.cli.plot;

/** A horizontal reference line at {@code y}, labelled at its right end. */
public record RefLine(double y, String label, Rgb color) {}
