package io.flotilla.gateway.http;

/** The body of every error answer: {@code {"error": "...", "detail": "..."}}. */
public record ApiError(String error, String detail) {}
