package io.flotilla.agent.update;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.protocol.composeapp.AppUri;
import io.flotilla.protocol.device.ComposeAppRef;
import io.flotilla.protocol.device.TargetsMetadata;
import io.flotilla.protocol.device.TufTarget;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * Chooses the target a device should run (§3): targets for its hardware id and tag, the highest
 * version or the one asked for, narrowed to the app shortlist. A target that cannot be used — a
 * non-numeric version, an app URI that does not parse or whose app name differs from its key — is
 * skipped with a warning, so one bad publish cannot wedge the fleet.
 */
public final class TargetSelector {

  private final String hardwareId;
  private final Optional<String> tag;
  private final Optional<List<String>> shortlist;
  private final Consumer<String> warnings;

  public TargetSelector(
      String hardwareId,
      Optional<String> tag,
      Optional<List<String>> shortlist,
      Consumer<String> warnings) {
    this.hardwareId = hardwareId;
    this.tag = tag;
    this.shortlist = shortlist;
    this.warnings = warnings;
  }

  /** All usable targets for this device, lowest version first. */
  public List<SelectedTarget> candidates(TargetsMetadata metadata) {
    List<SelectedTarget> found = new ArrayList<>();
    if (metadata.signed() == null) {
      return found;
    }
    for (Map.Entry<String, TufTarget> entry : metadata.signed().targets().entrySet()) {
      TufTarget target = entry.getValue();
      if (target == null
          || target.custom() == null
          || !target.custom().hardwareIds().contains(hardwareId)) {
        continue;
      }
      if (tag.isPresent() && !target.custom().tags().contains(tag.get())) {
        continue;
      }
      OptionalLong version = target.custom().versionNumber();
      if (version.isEmpty()) {
        warnings.accept(
            "skipping target "
                + entry.getKey()
                + ": version \""
                + target.custom().version()
                + "\" is not a number");
        continue;
      }
      apps(entry.getKey(), target.custom().dockerComposeApps())
          .ifPresent(
              apps ->
                  found.add(new SelectedTarget(entry.getKey(), version.getAsLong(), apps, false)));
    }
    found.sort(Comparator.comparingLong(SelectedTarget::version));
    return found;
  }

  /**
   * The highest version, or {@code requestedVersion} when given; exit 21 when nothing matches, 22
   * when that version does not exist.
   */
  public SelectedTarget select(TargetsMetadata metadata, OptionalLong requestedVersion) {
    List<SelectedTarget> candidates = candidates(metadata);
    if (candidates.isEmpty()) {
      throw new AgentException(
          ExitCode.NO_MATCHING_TARGET,
          "no target for hardware id " + hardwareId + tag.map(t -> " and tag " + t).orElse(""));
    }
    SelectedTarget latest = candidates.get(candidates.size() - 1);
    if (requestedVersion.isEmpty()) {
      return latest;
    }
    long wanted = requestedVersion.getAsLong();
    return candidates.stream()
        .filter(t -> t.version() == wanted)
        .findFirst()
        .map(
            t ->
                new SelectedTarget(t.name(), t.version(), t.apps(), latest.version() > t.version()))
        .orElseThrow(
            () ->
                new AgentException(
                    ExitCode.TARGET_NOT_FOUND,
                    "no target with version "
                        + wanted
                        + " for hardware id "
                        + hardwareId
                        + tag.map(t -> " and tag " + t).orElse("")
                        + " (available: "
                        + candidates.stream().map(SelectedTarget::versionText).toList()
                        + ")"));
  }

  /**
   * Finds a target by name among the candidates, for resuming an update or re-syncing the current
   * target.
   */
  public Optional<SelectedTarget> byName(TargetsMetadata metadata, String name) {
    return candidates(metadata).stream().filter(t -> t.name().equals(name)).findFirst();
  }

  private Optional<Map<String, AppUri>> apps(String targetName, Map<String, ComposeAppRef> refs) {
    Map<String, AppUri> apps = new LinkedHashMap<>();
    for (Map.Entry<String, ComposeAppRef> ref : refs.entrySet()) {
      AppUri uri;
      try {
        uri = AppUri.parse(ref.getValue() == null ? null : ref.getValue().uri());
      } catch (IllegalArgumentException e) {
        warnings.accept(
            "skipping target " + targetName + ": app " + ref.getKey() + ": " + e.getMessage());
        return Optional.empty();
      }
      if (!uri.app().equals(ref.getKey())) {
        warnings.accept(
            "skipping target "
                + targetName
                + ": app key "
                + ref.getKey()
                + " differs from the app in its URI "
                + uri);
        return Optional.empty();
      }
      if (shortlist.isEmpty() || shortlist.get().contains(ref.getKey())) {
        apps.put(ref.getKey(), uri);
      }
    }
    return Optional.of(apps);
  }
}
