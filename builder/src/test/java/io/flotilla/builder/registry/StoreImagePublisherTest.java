package io.flotilla.builder.registry;

import io.flotilla.registry.LocalRegistry;

/**
 * Publishing straight into the registry's storage, then reading it over the registry's HTTP routes.
 */
class StoreImagePublisherTest extends ImagePublisherContract {

  @Override
  ImagePublisher publisher() {
    return new StoreImagePublisher(LocalRegistry.open(testKit.system(), settings));
  }
}
