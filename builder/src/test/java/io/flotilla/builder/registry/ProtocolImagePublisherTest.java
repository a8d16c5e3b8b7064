package io.flotilla.builder.registry;

import java.net.http.HttpClient;

/**
 * Publishing over the registry protocol to the registry's HTTP routes, as a builder-only node does.
 */
class ProtocolImagePublisherTest extends ImagePublisherContract {

  @Override
  ImagePublisher publisher() {
    return new ProtocolImagePublisher(
        new RegistryClient(HttpClient.newHttpClient(), endpoints()), host);
  }
}
