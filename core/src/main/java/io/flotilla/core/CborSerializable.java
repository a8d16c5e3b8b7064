package io.flotilla.core;

/**
 * Marker for every message and event that crosses a node boundary or enters the journal: bound to
 * Jackson CBOR in application.conf so that nothing is ever written with Java serialization.
 */
public interface CborSerializable {}
