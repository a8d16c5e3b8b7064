package io.flotilla.core.app;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Rejection;
import io.flotilla.core.TaggedEntity;
import io.flotilla.protocol.composeapp.AppUri;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/** One compose app of a factory ({@code <factory>/<app>}) and every version published for it. */
public final class App extends TaggedEntity<App.Command, App.Event, App.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "App");
  public static final String TAG = "app";

  /**
   * Compose project names: lower case, digits, dash and underscore, starting with a letter or
   * digit.
   */
  public static final Pattern NAME = io.flotilla.core.Limits.APP_NAME;

  public static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");

  public static String entityId(String factory, String app) {
    return factory + "/" + app;
  }

  public sealed interface Command extends CborSerializable {}

  public record Publish(
      String uri, String sourceCommit, long buildNumber, ActorRef<StatusReply<Version>> replyTo)
      implements Command {}

  public record GetVersions(ActorRef<Versions> replyTo) implements Command {}

  public record Version(
      String digest, String uri, String sourceCommit, long buildNumber, Instant publishedAt)
      implements CborSerializable {}

  public record Versions(String factory, String app, List<Version> versions)
      implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record VersionPublished(
      String factory,
      String app,
      String digest,
      String uri,
      String sourceCommit,
      long buildNumber,
      Instant publishedAt)
      implements Event {}

  public record State(List<Version> versions) implements CborSerializable {
    State with(Version version) {
      List<Version> next = new ArrayList<>(versions);
      next.add(version);
      return new State(List.copyOf(next));
    }

    java.util.Optional<Version> byDigest(String digest) {
      return versions.stream().filter(v -> v.digest().equals(digest)).findFirst();
    }
  }

  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId())));
  }

  /**
   * @param entityId {@code <factory>/<app>}
   */
  public static App create(String entityId) {
    return new App(entityId);
  }

  private final String factory;
  private final String app;

  private App(String entityId) {
    super(ENTITY_KEY, entityId, TAG, 100);
    int slash = entityId.indexOf('/');
    this.factory = slash < 0 ? entityId : entityId.substring(0, slash);
    this.app = slash < 0 ? "" : entityId.substring(slash + 1);
  }

  @Override
  public State emptyState() {
    return new State(List.of());
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Publish.class, this::onPublish)
        .onCommand(
            GetVersions.class,
            (state, c) -> Effect().reply(c.replyTo(), new Versions(factory, app, state.versions())))
        .build();
  }

  private ReplyEffect<Event, State> onPublish(State state, Publish command) {
    if (!NAME.matcher(app).matches()) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.invalid("app name '" + app + "' must match " + NAME.pattern()));
    }
    AppUri uri;
    try {
      uri = AppUri.parse(command.uri());
    } catch (IllegalArgumentException e) {
      return Effect().reply(command.replyTo(), Rejection.invalid(e.getMessage()));
    }
    if (!uri.factory().equals(factory) || !uri.app().equals(app)) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.invalid(
                  "uri " + command.uri() + " is not an image of " + factory + "/" + app));
    }
    var known = state.byDigest(uri.digest().toString());
    if (known.isPresent()) {
      return Effect().reply(command.replyTo(), StatusReply.success(known.get()));
    }
    VersionPublished event =
        new VersionPublished(
            factory,
            app,
            uri.digest().toString(),
            command.uri(),
            command.sourceCommit(),
            command.buildNumber(),
            Instant.now());
    return Effect()
        .persist(event)
        .thenReply(
            command.replyTo(),
            s ->
                StatusReply.success(
                    new Version(
                        event.digest(),
                        event.uri(),
                        event.sourceCommit(),
                        event.buildNumber(),
                        event.publishedAt())));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            VersionPublished.class,
            (state, e) ->
                state.with(
                    new Version(
                        e.digest(), e.uri(), e.sourceCommit(), e.buildNumber(), e.publishedAt())))
        .build();
  }
}
