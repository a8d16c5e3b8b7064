package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code GET /hub-creds/}: basic credentials for the registry's token endpoint, valid only to pull
 * the device's own factory's repositories.
 */
public record HubCredentials(
    @JsonProperty("Username") String username, @JsonProperty("Secret") String secret) {

  @Override
  public String toString() {
    return "HubCredentials[username=" + username + ", secret=***]";
  }
}
