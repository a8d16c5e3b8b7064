package io.flotilla.builder.build;

/** What one attempt of a build works on. */
public record BuildSpec(
    String factory, long number, String commit, String branch, String tag, int attempt) {}
