package io.flotilla.builder.image;

import io.flotilla.builder.build.BuildLog;
import io.flotilla.builder.build.Cancellation;
import io.flotilla.builder.registry.RegistryClient;
import java.nio.file.Path;
import java.util.List;

/**
 * One image to build: the directory {@code context} holding its Dockerfile, the platforms wanted,
 * and where the result goes ({@code repository} on our registry, under each of {@code tags}).
 */
public record ImageBuildRequest(
    String name,
    Path context,
    Dockerfile dockerfile,
    List<TargetPlatform> platforms,
    String repository,
    List<String> tags,
    RegistryClient registry,
    BuildLog log,
    Cancellation cancellation) {}
