package io.flotilla.protocol;

/** The body of every 4xx/5xx answer of the server: {@code {"error": "...", "detail": "..."}}. */
public record ApiError(String error, String detail) {}
