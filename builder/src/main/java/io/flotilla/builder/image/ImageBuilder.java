package io.flotilla.builder.image;

import io.flotilla.builder.build.BuildFailure;

/** Builds one image directory and pushes the result to the factory's registry space. */
public interface ImageBuilder {
  BuiltImage build(ImageBuildRequest request) throws BuildFailure;
}
