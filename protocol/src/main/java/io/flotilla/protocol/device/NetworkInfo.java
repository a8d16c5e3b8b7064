package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Body of {@code PUT /system_info/network}. */
public record NetworkInfo(
    String hostname, String mac, @JsonProperty("local_ipv4") String localIpv4) {}
