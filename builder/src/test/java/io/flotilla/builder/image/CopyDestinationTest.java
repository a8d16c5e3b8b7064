package io.flotilla.builder.image;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CopyDestinationTest {

  @Test
  void aDotDestinationInTheWorkdirIsADirectoryNotAFileNamedAfterIt() {
    assertTrue(
        InProcessImageBuilder.destinationIsDirectory("/www/.", 1),
        "WORKDIR /www + COPY index.html .");
    assertTrue(InProcessImageBuilder.destinationIsDirectory("/www/sub/..", 1));
    assertTrue(InProcessImageBuilder.destinationIsDirectory("/www/", 1));
    assertTrue(InProcessImageBuilder.destinationIsDirectory("/www", 2));
  }

  @Test
  void aPlainDestinationRenamesTheSingleSource() {
    assertFalse(InProcessImageBuilder.destinationIsDirectory("/www/index.html", 1));
    assertFalse(InProcessImageBuilder.destinationIsDirectory("/etc/app.conf", 1));
  }
}
