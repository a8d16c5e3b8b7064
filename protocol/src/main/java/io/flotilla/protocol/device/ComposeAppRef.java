package io.flotilla.protocol.device;

/**
 * An app of a target: {@code <registry host>/<factory>/<app>@sha256:<manifest digest>}, see {@code
 * composeapp.AppUri}.
 */
public record ComposeAppRef(String uri) {}
