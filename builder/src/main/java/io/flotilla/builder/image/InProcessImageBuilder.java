package io.flotilla.builder.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.builder.build.BuildFailure;
import io.flotilla.builder.registry.ImageRef;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryException;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageIndex;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import io.flotilla.protocol.oci.OciManifests;
import io.flotilla.protocol.oci.Platform;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Builds Dockerfiles that need no process inside the image (FROM, COPY, ADD of local files, ENV,
 * WORKDIR, USER, LABEL, EXPOSE, ENTRYPOINT, CMD, ARG, STOPSIGNAL) without any external tool: it
 * reads the base from a registry, writes one reproducible layer per COPY/ADD and a new config, and
 * pushes one manifest per platform that the base has. The same commit therefore always gives the
 * same image digest.
 */
public final class InProcessImageBuilder implements ImageBuilder {

  private static final String EPOCH = "1970-01-01T00:00:00Z";

  @Override
  public BuiltImage build(ImageBuildRequest request) throws BuildFailure {
    try {
      return buildOrThrow(request);
    } catch (DockerfileException e) {
      throw BuildFailure.deterministic(request.name() + ": " + e.getMessage(), e);
    } catch (RegistryException e) {
      if (e.retryable()) {
        throw BuildFailure.transientFailure(request.name() + ": " + e.getMessage(), e);
      }
      throw BuildFailure.deterministic(request.name() + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw BuildFailure.transientFailure(request.name() + ": " + e.getMessage(), e);
    }
  }

  private record Base(
      TargetPlatform platform, ImageManifest manifest, byte[] config, String manifestMediaType) {}

  /** {@code binaries}: the ELF programs and libraries the layer holds, by path, with their arch. */
  private record Layer(ReproducibleLayer layer, String createdBy, Map<String, String> binaries) {}

  private BuiltImage buildOrThrow(ImageBuildRequest request) throws IOException, BuildFailure {
    Dockerfile dockerfile = request.dockerfile();
    List<String> unsupported = dockerfile.needsBuildah();
    if (!unsupported.isEmpty()) {
      throw new DockerfileException(
          "the in-process builder cannot do " + String.join(", ", unsupported));
    }
    RegistryClient registry = request.registry();
    Map<String, String> args = new LinkedHashMap<>();
    int index = 0;
    List<Dockerfile.Instruction> instructions = dockerfile.instructions();
    while (!instructions.get(index).keyword().equals("FROM")) {
      declareArg(instructions.get(index), args, Map.of());
      index++;
    }
    Dockerfile.Instruction from = instructions.get(index);
    List<String> fromWords = Dockerfile.words(Dockerfile.substitute(from.arguments(), args));
    fromWords.removeIf(w -> w.startsWith("--platform"));
    if (fromWords.isEmpty()) {
      throw new DockerfileException("line " + from.line() + ": FROM needs an image");
    }
    String baseName = fromWords.get(0);
    List<Base> bases = bases(request, baseName);
    boolean baseIsIndex =
        bases.size() > 1 || bases.stream().anyMatch(b -> b.manifestMediaType() == null);

    Map<String, String> buildArgs = new LinkedHashMap<>();
    ConfigChanges changes = new ConfigChanges();
    List<Layer> layers = new ArrayList<>();
    for (Dockerfile.Instruction instruction :
        instructions.subList(index + 1, instructions.size())) {
      request.cancellation().check();
      Map<String, String> vars = new LinkedHashMap<>(buildArgs);
      vars.putAll(changes.env(bases.get(0).config()));
      switch (instruction.keyword()) {
        case "ARG" -> declareArg(instruction, buildArgs, args);
        case "COPY", "ADD" -> {
          TreeMap<String, ReproducibleLayer.Entry> entries =
              copyEntries(request, instruction, vars, changes.workdir(bases.get(0).config()));
          ReproducibleLayer layer = ReproducibleLayer.write(entries);
          layers.add(
              new Layer(
                  layer,
                  instruction.keyword() + " " + instruction.arguments(),
                  ElfMachine.of(entries)));
          request
              .log()
              .line(
                  "  "
                      + instruction.keyword()
                      + " -> layer "
                      + layer.digest().shortHex()
                      + " ("
                      + layer.compressed().length
                      + " bytes)");
          changes.history.add(history(instruction, false));
        }
        default -> {
          changes.apply(instruction, vars);
          changes.history.add(history(instruction, true));
        }
      }
    }

    for (Base base : bases) {
      warnOfForeignBinaries(request, base.platform(), layers);
    }
    String ownHost = registry.endpoints().ownHost();
    ImageRef baseRef = baseName.equals("scratch") ? null : ImageRef.parse(baseName, ownHost);
    ImageCopier copier = new ImageCopier(registry);
    List<Descriptor> platformManifests = new ArrayList<>();
    for (Base base : bases) {
      request.cancellation().check();
      boolean docker = MediaTypes.DOCKER_MANIFEST.equals(base.manifest().mediaType());
      List<Descriptor> allLayers = new ArrayList<>(base.manifest().layers());
      if (baseRef != null) {
        for (Descriptor layer : base.manifest().layers()) {
          copier.copyBlob(
              baseRef.host(), baseRef.repository(), layer.digest(), request.repository());
        }
      }
      for (Layer layer : layers) {
        registry.pushBlob(
            ownHost, request.repository(), layer.layer().digest(), layer.layer().compressed());
        allLayers.add(
            Descriptor.of(
                docker ? MediaTypes.DOCKER_LAYER_GZIP : MediaTypes.OCI_LAYER_GZIP,
                layer.layer().digest(),
                layer.layer().compressed().length));
      }
      byte[] config = changes.config(base, layers);
      registry.pushBlob(ownHost, request.repository(), Digest.of(config), config);
      String manifestType = docker ? MediaTypes.DOCKER_MANIFEST : MediaTypes.OCI_MANIFEST;
      ImageManifest manifest =
          new ImageManifest(
              2,
              manifestType,
              null,
              Descriptor.of(docker ? MediaTypes.DOCKER_CONFIG : MediaTypes.OCI_CONFIG, config),
              allLayers,
              null,
              null);
      byte[] manifestBytes = Json.toBytes(manifest);
      Digest digest =
          registry.pushManifest(
              ownHost,
              request.repository(),
              Digest.of(manifestBytes).toString(),
              manifestType,
              manifestBytes);
      TargetPlatform p = base.platform();
      platformManifests.add(
          new Descriptor(
              manifestType,
              digest,
              manifestBytes.length,
              null,
              null,
              null,
              new Platform(p.architecture(), p.os(), null, null, p.variant())));
      request.log().line("  " + p + ": " + digest);
    }

    if (!baseIsIndex) {
      Descriptor only = platformManifests.get(0);
      byte[] bytes = manifestBytes(registry, ownHost, request.repository(), only.digest());
      for (String tag : request.tags()) {
        registry.pushManifest(ownHost, request.repository(), tag, only.mediaType(), bytes);
      }
      return new BuiltImage(
          request.name(),
          request.repository(),
          only.digest(),
          only.mediaType(),
          List.of(bases.get(0).platform().toString()));
    }
    boolean docker =
        platformManifests.stream().allMatch(d -> MediaTypes.DOCKER_MANIFEST.equals(d.mediaType()));
    String indexType = docker ? MediaTypes.DOCKER_MANIFEST_LIST : MediaTypes.OCI_INDEX;
    byte[] indexBytes =
        Json.toBytes(new ImageIndex(2, indexType, null, platformManifests, null, null));
    Digest indexDigest =
        registry.pushManifest(
            ownHost, request.repository(), Digest.of(indexBytes).toString(), indexType, indexBytes);
    for (String tag : request.tags()) {
      registry.pushManifest(ownHost, request.repository(), tag, indexType, indexBytes);
    }
    return new BuiltImage(
        request.name(),
        request.repository(),
        indexDigest,
        indexType,
        bases.stream().map(b -> b.platform().toString()).toList());
  }

  private static byte[] manifestBytes(
      RegistryClient registry, String host, String repository, Digest digest) throws IOException {
    return registry
        .manifest(host, repository, digest.toString())
        .orElseThrow(() -> new IOException("manifest " + digest + " vanished"))
        .bytes();
  }

  /**
   * The base's manifest and config for each wanted platform it has; {@code manifestMediaType} null
   * marks an index.
   */
  private List<Base> bases(ImageBuildRequest request, String baseName)
      throws IOException, BuildFailure {
    List<Base> bases = new ArrayList<>();
    if (baseName.equals("scratch")) {
      for (TargetPlatform platform : request.platforms()) {
        ObjectNode config = Json.mapper().createObjectNode();
        config.put("architecture", platform.architecture());
        config.put("os", platform.os());
        if (platform.variant() != null) {
          config.put("variant", platform.variant());
        }
        config.putObject("config");
        config.putObject("rootfs").put("type", "layers").putArray("diff_ids");
        config.putArray("history");
        bases.add(
            new Base(
                platform,
                new ImageManifest(2, MediaTypes.OCI_MANIFEST, null, null, List.of(), null, null),
                Json.toBytes(config),
                null));
      }
      return bases;
    }
    RegistryClient registry = request.registry();
    ImageRef ref;
    try {
      ref = ImageRef.parse(baseName, registry.endpoints().ownHost());
    } catch (IllegalArgumentException e) {
      throw new DockerfileException("FROM " + baseName + ": " + e.getMessage());
    }
    RegistryClient.Manifest top =
        registry
            .manifest(ref.host(), ref.repository(), ref.reference())
            .orElseThrow(
                () ->
                    BuildFailure.deterministic(
                        request.name()
                            + ": base image "
                            + baseName
                            + " not found (looked for "
                            + ref
                            + ")"));
    String mediaType = ImageCopier.mediaTypeOf(top);
    List<String> missing = new ArrayList<>();
    for (TargetPlatform platform : request.platforms()) {
      if (MediaTypes.isIndex(mediaType)) {
        ImageIndex index = OciManifests.readIndex(top.bytes());
        var entry = index.forPlatform(platform.os(), platform.architecture(), platform.variant());
        if (entry.isEmpty()) {
          missing.add(platform.toString());
          continue;
        }
        RegistryClient.Manifest child =
            registry
                .manifest(ref.host(), ref.repository(), entry.get().digest().toString())
                .orElseThrow(
                    () ->
                        new RegistryException(
                            "base index lists "
                                + entry.get().digest()
                                + " but the registry lacks it",
                            false));
        ImageManifest manifest = OciManifests.readManifest(child.bytes());
        bases.add(
            new Base(
                platform,
                manifest,
                registry.blob(ref.host(), ref.repository(), manifest.config().digest()),
                null));
      } else {
        ImageManifest manifest = OciManifests.readManifest(top.bytes());
        byte[] config = registry.blob(ref.host(), ref.repository(), manifest.config().digest());
        JsonNode node = Json.mapper().readTree(config);
        String variant = node.path("variant").isTextual() ? node.get("variant").asText() : null;
        if (platform.matches(
            node.path("os").asText("linux"), node.path("architecture").asText(""), variant)) {
          bases.add(new Base(platform, manifest, config, mediaType));
        } else {
          missing.add(platform.toString());
        }
      }
    }
    if (bases.isEmpty()) {
      throw BuildFailure.deterministic(
          request.name()
              + ": base image "
              + baseName
              + " has none of the factory's platforms "
              + request.platforms());
    }
    if (!missing.isEmpty()) {
      request
          .log()
          .line(
              "  base "
                  + baseName
                  + " lacks "
                  + missing
                  + "; building "
                  + bases.stream().map(b -> b.platform().toString()).toList());
    }
    return bases;
  }

  private static void declareArg(
      Dockerfile.Instruction instruction, Map<String, String> into, Map<String, String> outer) {
    String text = instruction.arguments().strip();
    int eq = text.indexOf('=');
    if (eq < 0) {
      into.put(text, outer.getOrDefault(text, ""));
    } else {
      String name = text.substring(0, eq);
      List<String> value = Dockerfile.words(text.substring(eq + 1));
      into.put(name, outer.getOrDefault(name, value.isEmpty() ? "" : value.get(0)));
    }
  }

  private static ObjectNode history(Dockerfile.Instruction instruction, boolean empty) {
    ObjectNode history = Json.mapper().createObjectNode();
    history.put("created", EPOCH);
    history.put("created_by", instruction.keyword() + " " + instruction.arguments());
    history.put("comment", "flotilla in-process builder");
    if (empty) {
      history.put("empty_layer", true);
    }
    return history;
  }

  /**
   * Files listed at most per platform, so that a tree of foreign binaries does not flood the log.
   */
  static final int FOREIGN_BINARIES_LISTED = 5;

  /**
   * Nothing stops an image from carrying binaries its platform cannot run (an amd64 program copied
   * into an image published for linux/arm64 fails only on the device, "exec format error"): the
   * build says so in its log and goes on, since a binary may be there for another reason.
   */
  private static void warnOfForeignBinaries(
      ImageBuildRequest request, TargetPlatform platform, List<Layer> layers) {
    Map<String, String> foreign = new TreeMap<>();
    for (Layer layer : layers) {
      layer
          .binaries()
          .forEach(
              (path, arch) -> {
                if (!arch.equals(platform.architecture())) {
                  foreign.put(path, arch);
                } else {
                  foreign.remove(path);
                }
              });
    }
    if (foreign.isEmpty()) {
      return;
    }
    List<String> listed =
        foreign.entrySet().stream()
            .limit(FOREIGN_BINARIES_LISTED)
            .map(e -> "/" + e.getKey() + " (" + e.getValue() + ")")
            .toList();
    request
        .log()
        .line(
            "  warning: "
                + platform
                + " cannot run "
                + String.join(", ", listed)
                + (foreign.size() > listed.size()
                    ? " and " + (foreign.size() - listed.size()) + " more ELF file(s)"
                    : "")
                + ": built for another architecture; the image is published for "
                + platform
                + " all the same");
  }

  private TreeMap<String, ReproducibleLayer.Entry> copyEntries(
      ImageBuildRequest request,
      Dockerfile.Instruction instruction,
      Map<String, String> vars,
      String workdir)
      throws IOException {
    List<String> words =
        instruction.execForm()
            ? new ArrayList<>(instruction.json())
            : new ArrayList<>(Dockerfile.words(instruction.arguments()));
    int uid = 0;
    int gid = 0;
    Integer chmod = null;
    while (!words.isEmpty() && words.get(0).startsWith("--")) {
      String option = words.remove(0);
      if (option.startsWith("--chown=")) {
        String[] owner = Dockerfile.substitute(option.substring(8), vars).split(":");
        try {
          uid = Integer.parseInt(owner[0]);
          gid = owner.length > 1 ? Integer.parseInt(owner[1]) : uid;
        } catch (NumberFormatException e) {
          throw new DockerfileException(
              "line "
                  + instruction.line()
                  + ": the in-process builder needs numeric --chown (uid:gid), not "
                  + option);
        }
      } else if (option.startsWith("--chmod=")) {
        try {
          chmod = Integer.parseInt(option.substring(8), 8);
        } catch (NumberFormatException e) {
          throw new DockerfileException("line " + instruction.line() + ": invalid " + option);
        }
      } else if (!option.equals("--link")) {
        throw new DockerfileException(
            "line "
                + instruction.line()
                + ": "
                + instruction.keyword()
                + " option "
                + option
                + " is not supported by the in-process builder");
      }
    }
    if (words.size() < 2) {
      throw new DockerfileException(
          "line "
              + instruction.line()
              + ": "
              + instruction.keyword()
              + " needs a source and a destination");
    }
    String dest = Dockerfile.substitute(words.remove(words.size() - 1), vars);
    if (!dest.startsWith("/")) {
      dest = (workdir.endsWith("/") ? workdir : workdir + "/") + dest;
    }
    boolean destIsDir = destinationIsDirectory(dest, words.size());
    String destPath = normalize(dest);
    TreeMap<String, ReproducibleLayer.Entry> entries = new TreeMap<>();
    Path context = request.context().toRealPath();
    for (String rawSource : words) {
      String source = Dockerfile.substitute(rawSource, vars);
      if (instruction.keyword().equals("ADD")
          && (source.startsWith("http://") || source.startsWith("https://") || isArchive(source))) {
        throw new DockerfileException(
            "line "
                + instruction.line()
                + ": ADD of a URL or an archive needs buildah; use COPY for plain files");
      }
      List<Path> matches = expand(context, source, instruction.line());
      for (Path match : matches) {
        if (Files.isDirectory(match)) {
          String base = destPath;
          try (Stream<Path> walk = Files.walk(match)) {
            for (Path file : walk.sorted().toList()) {
              String rel = match.relativize(file).toString().replace('\\', '/');
              String target = rel.isEmpty() ? base : join(base, rel);
              if (Files.isDirectory(file)) {
                addDir(entries, target, uid, gid);
              } else if (Files.isRegularFile(file)) {
                addFile(entries, target, Files.readAllBytes(file), mode(file, chmod), uid, gid);
              }
            }
          }
        } else {
          String target =
              destIsDir || matches.size() > 1
                  ? join(destPath, match.getFileName().toString())
                  : destPath;
          addFile(entries, target, Files.readAllBytes(match), mode(match, chmod), uid, gid);
        }
      }
    }
    return entries;
  }

  /**
   * Docker copies into a directory when the destination ends in "/" or names a directory such as
   * "." (the usual {@code WORKDIR /www} + {@code COPY index.html .}), or when there are several
   * sources; otherwise the destination is the file's new name.
   */
  static boolean destinationIsDirectory(String dest, int sources) {
    return sources > 1
        || dest.endsWith("/")
        || dest.equals(".")
        || dest.equals("..")
        || dest.endsWith("/.")
        || dest.endsWith("/..");
  }

  private static boolean isArchive(String source) {
    return source.endsWith(".tar")
        || source.endsWith(".tar.gz")
        || source.endsWith(".tgz")
        || source.endsWith(".tar.xz")
        || source.endsWith(".tar.bz2");
  }

  private static List<Path> expand(Path context, String source, int line) throws IOException {
    String clean = source.startsWith("/") ? source.substring(1) : source;
    if (clean.isEmpty()) {
      clean = ".";
    }
    if (clean.contains("*") || clean.contains("?") || clean.contains("[")) {
      PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + clean);
      List<Path> matches;
      try (Stream<Path> walk = Files.walk(context)) {
        matches =
            walk.filter(p -> !p.equals(context))
                .filter(p -> matcher.matches(context.relativize(p)))
                .sorted()
                .toList();
      }
      if (matches.isEmpty()) {
        throw new DockerfileException("line " + line + ": no file matches " + source);
      }
      return matches;
    }
    Path resolved = context.resolve(clean).normalize();
    if (!resolved.startsWith(context)) {
      throw new DockerfileException(
          "line " + line + ": " + source + " is outside the build context");
    }
    if (!Files.exists(resolved)) {
      throw new DockerfileException(
          "line " + line + ": " + source + " does not exist in the build context");
    }
    if (!resolved.toRealPath().startsWith(context)) {
      throw new DockerfileException(
          "line " + line + ": " + source + " links outside the build context");
    }
    return List.of(resolved);
  }

  private static int mode(Path file, Integer chmod) {
    if (chmod != null) {
      return chmod;
    }
    return Files.isExecutable(file) ? 0755 : 0644;
  }

  private static void addFile(
      Map<String, ReproducibleLayer.Entry> entries,
      String path,
      byte[] content,
      int mode,
      int uid,
      int gid) {
    addParents(entries, path);
    entries.put(path, new ReproducibleLayer.Entry(content, mode, uid, gid));
  }

  private static void addDir(
      Map<String, ReproducibleLayer.Entry> entries, String path, int uid, int gid) {
    if (path.isEmpty()) {
      return;
    }
    addParents(entries, path);
    entries.put(path, new ReproducibleLayer.Entry(null, 0755, uid, gid));
  }

  private static void addParents(Map<String, ReproducibleLayer.Entry> entries, String path) {
    for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
      entries.putIfAbsent(path.substring(0, slash), new ReproducibleLayer.Entry(null, 0755, 0, 0));
    }
  }

  private static String join(String dir, String name) {
    return dir.isEmpty() ? name : dir + "/" + name;
  }

  /** An absolute image path without its leading slash, {@code .} and {@code ..} resolved. */
  static String normalize(String absolute) {
    List<String> parts = new ArrayList<>();
    for (String part : absolute.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (!parts.isEmpty()) {
          parts.remove(parts.size() - 1);
        }
      } else {
        parts.add(part);
      }
    }
    return String.join("/", parts);
  }

  /** The config edits a Dockerfile makes, applied to each platform's base config. */
  private static final class ConfigChanges {
    private final Map<String, String> env = new LinkedHashMap<>();
    private final Map<String, String> labels = new LinkedHashMap<>();
    private final List<String> exposed = new ArrayList<>();
    private String workdir;
    private String user;
    private List<String> entrypoint;
    private List<String> cmd;
    private boolean cmdCleared;
    private String stopSignal;
    private final List<ObjectNode> history = new ArrayList<>();

    Map<String, String> env(byte[] baseConfig) {
      Map<String, String> all = new LinkedHashMap<>();
      JsonNode base = readConfig(baseConfig).path("config").path("Env");
      for (JsonNode kv : base) {
        String text = kv.asText();
        int eq = text.indexOf('=');
        if (eq > 0) {
          all.put(text.substring(0, eq), text.substring(eq + 1));
        }
      }
      all.putAll(env);
      return all;
    }

    String workdir(byte[] baseConfig) {
      if (workdir != null) {
        return workdir;
      }
      String base = readConfig(baseConfig).path("config").path("WorkingDir").asText("");
      return base.isEmpty() ? "/" : base;
    }

    void apply(Dockerfile.Instruction instruction, Map<String, String> vars) {
      String args = instruction.arguments();
      switch (instruction.keyword()) {
        case "ENV" -> {
          String text = Dockerfile.substitute(args, vars);
          List<String> words = Dockerfile.words(text);
          if (!words.isEmpty() && !words.get(0).contains("=")) {
            String value =
                text.strip()
                    .substring(text.strip().indexOf(words.get(0)) + words.get(0).length())
                    .strip();
            env.put(words.get(0), String.join(" ", Dockerfile.words(value)));
          } else {
            for (String word : words) {
              int eq = word.indexOf('=');
              if (eq <= 0) {
                throw new DockerfileException(
                    "line " + instruction.line() + ": ENV expects KEY=VALUE, got '" + word + "'");
              }
              env.put(word.substring(0, eq), word.substring(eq + 1));
            }
          }
        }
        case "LABEL" -> {
          for (String word : Dockerfile.words(Dockerfile.substitute(args, vars))) {
            int eq = word.indexOf('=');
            if (eq <= 0) {
              throw new DockerfileException(
                  "line " + instruction.line() + ": LABEL expects KEY=VALUE, got '" + word + "'");
            }
            labels.put(word.substring(0, eq), word.substring(eq + 1));
          }
        }
        case "MAINTAINER" -> labels.put("maintainer", args);
        case "EXPOSE" -> {
          for (String port : Dockerfile.words(Dockerfile.substitute(args, vars))) {
            if (!port.matches("[0-9]{1,5}(-[0-9]{1,5})?(/(tcp|udp|sctp))?")) {
              throw new DockerfileException(
                  "line " + instruction.line() + ": invalid port '" + port + "'");
            }
            exposed.add(port.contains("/") ? port : port + "/tcp");
          }
        }
        case "WORKDIR" -> {
          String dir = Dockerfile.substitute(args, vars).strip();
          String current = workdir == null ? "/" : workdir;
          workdir = "/" + normalize(dir.startsWith("/") ? dir : current + "/" + dir);
        }
        case "USER" -> user = Dockerfile.substitute(args, vars).strip();
        case "ENTRYPOINT" -> {
          entrypoint = command(instruction);
          if (cmd == null) {
            cmdCleared = true;
          }
        }
        case "CMD" -> {
          cmd = command(instruction);
          cmdCleared = false;
        }
        case "STOPSIGNAL" -> stopSignal = Dockerfile.substitute(args, vars).strip();
        default ->
            throw new DockerfileException(
                "line " + instruction.line() + ": " + instruction.keyword() + " needs buildah");
      }
    }

    private static List<String> command(Dockerfile.Instruction instruction) {
      return instruction.execForm()
          ? instruction.json()
          : List.of("/bin/sh", "-c", instruction.arguments());
    }

    byte[] config(Base base, List<Layer> layers) {
      ObjectNode root = readConfig(base.config());
      root.put("created", EPOCH);
      ObjectNode config =
          root.has("config") && root.get("config").isObject()
              ? (ObjectNode) root.get("config")
              : root.putObject("config");
      ArrayNode envArray = config.putArray("Env");
      env(base.config()).forEach((k, v) -> envArray.add(k + "=" + v));
      if (workdir != null) {
        config.put("WorkingDir", workdir);
      }
      if (user != null) {
        config.put("User", user);
      }
      if (!labels.isEmpty()) {
        ObjectNode labelNode =
            config.has("Labels") && config.get("Labels").isObject()
                ? (ObjectNode) config.get("Labels")
                : config.putObject("Labels");
        labels.forEach(labelNode::put);
      }
      if (!exposed.isEmpty()) {
        ObjectNode ports =
            config.has("ExposedPorts") && config.get("ExposedPorts").isObject()
                ? (ObjectNode) config.get("ExposedPorts")
                : config.putObject("ExposedPorts");
        exposed.forEach(p -> ports.putObject(p));
      }
      if (entrypoint != null) {
        ArrayNode array = config.putArray("Entrypoint");
        entrypoint.forEach(array::add);
      }
      if (cmd != null) {
        ArrayNode array = config.putArray("Cmd");
        cmd.forEach(array::add);
      } else if (cmdCleared) {
        config.remove("Cmd");
      }
      if (stopSignal != null) {
        config.put("StopSignal", stopSignal);
      }
      ObjectNode rootfs =
          root.has("rootfs") && root.get("rootfs").isObject()
              ? (ObjectNode) root.get("rootfs")
              : root.putObject("rootfs");
      rootfs.put("type", "layers");
      ArrayNode diffIds =
          rootfs.has("diff_ids") && rootfs.get("diff_ids").isArray()
              ? (ArrayNode) rootfs.get("diff_ids")
              : rootfs.putArray("diff_ids");
      layers.forEach(l -> diffIds.add(l.layer().diffId().toString()));
      ArrayNode historyArray =
          root.has("history") && root.get("history").isArray()
              ? (ArrayNode) root.get("history")
              : root.putArray("history");
      history.forEach(historyArray::add);
      return Json.toBytes(root);
    }

    private static ObjectNode readConfig(byte[] bytes) {
      try {
        JsonNode node = Json.mapper().readTree(bytes);
        if (node instanceof ObjectNode object) {
          return object;
        }
      } catch (IOException e) {
        throw new DockerfileException("the base image's config is not JSON: " + e.getMessage());
      }
      throw new DockerfileException("the base image's config is not a JSON object");
    }
  }
}
