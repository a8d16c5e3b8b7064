/**
 * Wire contracts shared by the server and the device agent (see docs/device-protocol.md): {@code
 * device} for the device gateway's JSON, {@code oci} for registry media types and digests, {@code
 * composeapp} for the compose-app v1 bundle format. {@link io.flotilla.protocol.Json} is the one
 * mapper configuration both sides use.
 */
package io.flotilla.protocol;
