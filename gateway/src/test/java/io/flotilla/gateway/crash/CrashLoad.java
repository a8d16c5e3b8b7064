package io.flotilla.gateway.crash;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.Limits;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.gateway.build.GitCli;
import io.flotilla.gateway.device.DeviceClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every write path of the node at once, each client keeping what the server acknowledged (a 2xx, or
 * a push's success), and the check that each acknowledged write is still there after the node was
 * killed and restarted: in the journal (read over the admin API), in the registry (read back by
 * digest), in containers.git (fetched into an empty repository).
 */
final class CrashLoad {

  enum Kind {
    EVENTS("device events"),
    REGISTRATIONS("registrations"),
    TARGETS("targets"),
    TOKENS("factory tokens"),
    GIT_PUSHES("git pushes"),
    BLOBS("registry blobs"),
    MANIFESTS("registry manifests"),
    LABELS("device labels"),
    ROLLOUTS("rollout writes");

    final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  /** One acknowledged write: where to look for it, and what must be there. */
  record Ack(Kind kind, String where, String what) {}

  /** Counts of one or more trials. */
  static final class Tally {
    final Map<Kind, Integer> acked = new EnumMap<>(Kind.class);
    final Map<Kind, Integer> found = new EnumMap<>(Kind.class);
    final List<String> lost = new ArrayList<>();

    void add(Tally other) {
      other.acked.forEach((k, n) -> acked.merge(k, n, Integer::sum));
      other.found.forEach((k, n) -> found.merge(k, n, Integer::sum));
      lost.addAll(other.lost);
    }

    int total(Map<Kind, Integer> counts) {
      return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    String summary() {
      StringBuilder line = new StringBuilder();
      for (Kind kind : Kind.values()) {
        line.append(kind.label)
            .append(' ')
            .append(acked.getOrDefault(kind, 0))
            .append(" acked/")
            .append(found.getOrDefault(kind, 0))
            .append(" found, ");
      }
      return line.append("total ")
          .append(total(acked))
          .append(" acked, ")
          .append(total(found))
          .append(" found, ")
          .append(lost.size())
          .append(" lost")
          .toString();
    }
  }

  static final String FACTORY = "crash";
  private static final String REPOSITORY = FACTORY + "/app";
  private static final String BRANCH = "durability";
  private static final int EVENT_DEVICES = 4;

  /**
   * A git push is several processes and round trips: on a saturated machine the first one of a
   * trial is slow.
   */
  private static final int EVERY_KIND_PATIENCE_SECONDS = 180;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

  private final Path work;
  private final Random random;
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final List<DeviceClient> eventDevices = new ArrayList<>();
  private final Queue<Ack> acks = new ConcurrentLinkedQueue<>();

  /**
   * A writer that failed for another reason than the node dying under it: the run proves nothing
   * then.
   */
  final Queue<String> failures = new ConcurrentLinkedQueue<>();

  /**
   * Every commit the git client made, in order: the server's branch may be at the last acknowledged
   * one or later.
   */
  private final List<String> commits = new CopyOnWriteArrayList<>();

  private String ciToken;
  private volatile ServerProcess server;
  private volatile boolean running;

  /**
   * The last refusal a writer met while the node was up, to say why a kind of write was never
   * acknowledged.
   */
  private volatile String lastRefusal = "none";

  private int trial;

  /** The last sequence number read of each journal ("Device/uuid"). */
  private final Map<String, Long> journalRead = new HashMap<>();

  private static final Pattern SEQUENCE_NR = Pattern.compile("\"sequenceNr\":(\\d+)");

  CrashLoad(Path work, long seed) {
    this.work = work;
    this.random = new Random(seed);
  }

  /** The factory, a CI token, the devices that post events, and the git client's repository. */
  void setUp(ServerProcess first) throws Exception {
    server = first;
    Answer factory =
        api(
            "POST",
            "/api/v1/factories",
            server.adminToken,
            "{\"name\":\"" + FACTORY + "\",\"platforms\":[\"amd64-linux\"]}");
    check(factory, 201);
    Answer token =
        api(
            "POST",
            "/api/v1/factories/" + FACTORY + "/tokens",
            server.adminToken,
            "{\"description\":\"ci\",\"scopes\":[\"devices:create\",\"targets:read\",\"targets:write\",\"containers:read\",\"containers:push\"]}");
    check(token, 201);
    ciToken = JSON.readTree(token.body).get("token").asText();
    for (int i = 0; i < EVENT_DEVICES; i++) {
      DeviceClient device = new DeviceClient();
      HttpResponse<String> answer = register(device);
      if (answer.statusCode() != 201) {
        throw new AssertionError(
            "registering an event device: " + answer.statusCode() + " " + answer.body());
      }
      JsonNode files = JSON.readTree(answer.body());
      device.registered(files.get("root.crt").asText(), files.get("client.pem").asText());
      eventDevices.add(device);
    }
    Path git = work.resolve("git");
    Files.createDirectories(git);
    GitCli.ok(git, "init", "-q");
  }

  /**
   * Runs every writer against {@code target}; once each kind of write has been acknowledged at
   * least once (all of them flowing), kills the node {@code killAfter} later, and returns once all
   * writers stopped.
   */
  List<Ack> runUntilKilled(ServerProcess target, int trialNumber, Duration killAfter)
      throws Exception {
    server = target;
    trial = trialNumber;
    acks.clear();
    running = true;
    List<Thread> writers = new ArrayList<>();
    for (int i = 0; i < eventDevices.size(); i++) {
      DeviceClient device = eventDevices.get(i);
      int index = i;
      writers.add(writer("events-" + i, n -> postEvent(device, index, n)));
    }
    writers.add(writer("registrations", n -> registerOne()));
    writers.add(writer("targets", n -> addTarget()));
    writers.add(writer("tokens", n -> createToken()));
    writers.add(writer("git", this::push));
    writers.add(writer("registry", this::pushImage));
    writers.add(writer("labels", this::setLabels));
    writers.add(writer("rollouts", this::rollout));
    writers.forEach(Thread::start);
    awaitEveryKind();
    Thread.sleep(killAfter.toMillis());
    target.kill();
    running = false;
    for (Thread writer : writers) {
      writer.join(TimeUnit.SECONDS.toMillis(60));
      if (writer.isAlive()) {
        throw new AssertionError(
            "writer " + writer.getName() + " did not stop within 60 s of the kill");
      }
    }
    return List.copyOf(acks);
  }

  private void awaitEveryKind() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(EVERY_KIND_PATIENCE_SECONDS);
    while (System.nanoTime() < deadline && failures.isEmpty()) {
      if (acks.stream().map(Ack::kind).distinct().count() == Kind.values().length) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError(
        "not every kind of write was acknowledged within "
            + EVERY_KIND_PATIENCE_SECONDS
            + " s (acknowledged: "
            + acks.stream().map(Ack::kind).distinct().toList()
            + ", writer failures: "
            + failures
            + ", last refusal: "
            + lastRefusal
            + ")");
  }

  interface Step {
    void run(int n) throws Exception;
  }

  private Thread writer(String name, Step step) {
    Thread thread =
        new Thread(
            () -> {
              for (int n = 0; running; n++) {
                try {
                  step.run(n);
                } catch (IOException e) {
                  // the node died under the request: not acknowledged, nothing to check
                } catch (InterruptedException e) {
                  return;
                } catch (Exception | AssertionError e) {
                  failures.add(name + " (trial " + trial + "): " + e);
                  return;
                }
              }
            },
            "crash-" + name);
    thread.setDaemon(true);
    return thread;
  }

  private void postEvent(DeviceClient device, int index, int n) throws Exception {
    String id = "t" + trial + "-d" + index + "-" + n;
    // A device keeps at most Limits.EVENTS_PER_UPDATE events of one update and drops the rest (the
    // protocol answers
    // 200 all the same), so the events are spread over updates that each stay below it.
    String correlationId = "crash-" + trial + "-" + n / (Limits.EVENTS_PER_UPDATE / 2);
    String event =
        "{\"id\":\""
            + id
            + "\",\"deviceTime\":\"2026-11-27T10:00:00Z\",\"eventType\":{\"id\":\"EcuDownloadStarted\",\"version\":2},"
            + "\"event\":{\"correlationId\":\""
            + correlationId
            + "\",\"success\":null,\"targetName\":\"amd64-linux-1\",\"version\":\"1\"}}";
    HttpResponse<String> answer =
        device.send(
            "https://127.0.0.1:" + server.devicePort,
            "POST",
            "/events",
            "[" + event + "]",
            "x-ats-tags",
            "main");
    if (answer.statusCode() == 200) {
      acks.add(new Ack(Kind.EVENTS, device.uuid, id));
    }
  }

  private HttpResponse<String> register(DeviceClient device) throws Exception {
    ObjectNode body = JSON.createObjectNode();
    body.put("name", "crash-" + device.uuid.substring(0, 8));
    body.put("uuid", device.uuid);
    body.put("hardware-id", "amd64-linux");
    body.put("csr", device.csr(FACTORY));
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(apiBase() + "/ota/devices/"))
            .timeout(Duration.ofSeconds(15))
            .header("OSF-TOKEN", ciToken)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
            .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private void registerOne() throws Exception {
    DeviceClient device = new DeviceClient();
    if (register(device).statusCode() == 201) {
      acks.add(new Ack(Kind.REGISTRATIONS, device.uuid, "Registered"));
    }
  }

  private void addTarget() throws Exception {
    String body =
        "{\"tags\":[\"main\"],\"apps\":{\"app\":\"127.0.0.1/"
            + REPOSITORY
            + "@sha256:"
            + "ab".repeat(32)
            + "\"}}";
    Answer answer = api("POST", "/api/v1/factories/" + FACTORY + "/targets", ciToken, body);
    if (answer.status == 201) {
      for (JsonNode target : JSON.readTree(answer.body).get("targets")) {
        acks.add(new Ack(Kind.TARGETS, FACTORY, target.get("name").asText()));
      }
    }
  }

  private void createToken() throws Exception {
    Answer answer =
        api(
            "POST",
            "/api/v1/factories/" + FACTORY + "/tokens",
            server.adminToken,
            "{\"description\":\"crash\",\"scopes\":[\"targets:read\"]}");
    if (answer.status == 201) {
      ApiToken token =
          ApiToken.parse(JSON.readTree(answer.body).get("token").asText()).orElseThrow();
      acks.add(new Ack(Kind.TOKENS, FACTORY, token.id()));
    }
  }

  /** The operator's labels of an event device: each PATCH replaces them with a value of its own. */
  private void setLabels(int n) throws Exception {
    DeviceClient device = eventDevices.get(n % eventDevices.size());
    String value = "t" + trial + "-l" + n;
    Answer answer =
        api(
            "PATCH",
            "/api/v1/factories/" + FACTORY + "/devices/" + device.uuid,
            server.adminToken,
            "{\"labels\":{\"crash\":\"" + value + "\"}}");
    if (answer.status == 200) {
      acks.add(new Ack(Kind.LABELS, device.uuid, value));
    } else {
      lastRefusal = "labels: " + answer.status + " " + answer.body;
    }
  }

  /** The rollout writes in the order one rollout goes through them: its event type for each. */
  private static final String[][] ROLLOUT_STEPS = {
    {null, "Created"}, {"pause", "Paused"}, {"resume", "Resumed"}, {"cancel", "Canceled"}
  };

  /**
   * The rollout the rollout writer works on, and its next step; kept from one trial to the next.
   */
  private int rolloutNumber;

  private int rolloutStep;

  /**
   * One write a step: a rollout is created, paused, resumed and canceled, and the next one created,
   * each change acknowledged on its own. A kill leaves the step to do again in the next trial,
   * which the API answers as it stands (pausing a paused rollout is 200; creating one that exists
   * is 409, and the writer moves on), so whichever write the kill follows, the next trial goes on
   * from there. Each rollout has its own tag: a tag has one unfinished rollout at a time.
   */
  private void rollout(int n) throws Exception {
    String id = "r" + rolloutNumber;
    String base = "/api/v1/factories/" + FACTORY + "/rollouts";
    String[] step = ROLLOUT_STEPS[rolloutStep];
    Answer answer =
        step[0] == null
            ? api(
                "POST",
                base,
                ciToken,
                "{\"id\":\""
                    + id
                    + "\",\"tag\":\"crash-"
                    + id
                    + "\",\"version\":2,\"growth\":[10,100],\"rollback\":true}")
            : api("POST", base + "/" + id + "/" + step[0], ciToken, null);
    boolean done = answer.status == (step[0] == null ? 201 : 200);
    if (done) {
      acks.add(new Ack(Kind.ROLLOUTS, FACTORY + "/" + id, step[1]));
    } else if (!(step[0] == null && answer.status == 409)) {
      lastRefusal = "rollout " + step[1] + ": " + answer.status + " " + answer.body;
      return;
    }
    rolloutStep = (rolloutStep + 1) % ROLLOUT_STEPS.length;
    if (rolloutStep == 0) {
      rolloutNumber++;
    }
  }

  private void push(int n) throws Exception {
    Path git = work.resolve("git");
    Files.writeString(git.resolve("change.txt"), "trial " + trial + " push " + n + "\n");
    GitCli.ok(git, "add", "change.txt");
    GitCli.ok(git, "commit", "-q", "-m", "trial " + trial + " push " + n);
    String commit = GitCli.ok(git, "rev-parse", "HEAD").strip();
    commits.add(commit);
    GitCli.Result pushed = GitCli.run(git, "push", "-q", gitUrl(), "HEAD:refs/heads/" + BRANCH);
    if (pushed.exit() == 0) {
      acks.add(new Ack(Kind.GIT_PUSHES, BRANCH, commit));
    } else if (running) {
      lastRefusal = "git push: " + pushed.output().strip();
    }
  }

  /**
   * Two blobs (one monolithic, one in a session with a chunk) and a manifest that names them, under
   * a new tag.
   */
  private void pushImage(int n) throws Exception {
    byte[] config =
        ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"crash\":\"" + trial + "-" + n + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    byte[] layer = new byte[4096 + random.nextInt(60_000)];
    random.nextBytes(layer);
    Optional<String> configDigest = monolithic(config);
    if (configDigest.isEmpty()) {
      return;
    }
    Optional<String> layerDigest = chunked(layer);
    if (layerDigest.isEmpty()) {
      return;
    }
    String manifest =
        "{\"schemaVersion\":2,\"mediaType\":\""
            + MANIFEST_TYPE
            + "\","
            + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
            + configDigest.get()
            + "\",\"size\":"
            + config.length
            + "},"
            + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\""
            + layerDigest.get()
            + "\",\"size\":"
            + layer.length
            + "}]}";
    String tag = "t" + trial + "-" + n;
    HttpResponse<String> put =
        http.send(
            registry("/manifests/" + tag)
                .header("Content-Type", MANIFEST_TYPE)
                .PUT(HttpRequest.BodyPublishers.ofString(manifest))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (put.statusCode() == 201) {
      acks.add(new Ack(Kind.MANIFESTS, tag, digest(manifest.getBytes(StandardCharsets.UTF_8))));
    }
  }

  private Optional<String> monolithic(byte[] content) throws Exception {
    String digest = digest(content);
    HttpResponse<String> answer =
        http.send(
            registry("/blobs/uploads/?digest=" + digest)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(content))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return blobAck(answer, digest);
  }

  private Optional<String> chunked(byte[] content) throws Exception {
    String digest = digest(content);
    HttpResponse<String> session =
        http.send(
            registry("/blobs/uploads/").POST(HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.ofString());
    if (session.statusCode() != 202) {
      return Optional.empty();
    }
    String location = session.headers().firstValue("Location").orElseThrow();
    HttpResponse<String> chunk =
        http.send(
            authorized(HttpRequest.newBuilder(URI.create(apiBase() + location)))
                .header("Content-Type", "application/octet-stream")
                .header("Content-Range", "0-" + (content.length - 1))
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(content))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (chunk.statusCode() != 202) {
      return Optional.empty();
    }
    String next = chunk.headers().firstValue("Location").orElse(location);
    HttpResponse<String> done =
        http.send(
            authorized(
                    HttpRequest.newBuilder(
                        URI.create(
                            apiBase()
                                + next
                                + (next.contains("?") ? "&" : "?")
                                + "digest="
                                + digest)))
                .PUT(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return blobAck(done, digest);
  }

  private Optional<String> blobAck(HttpResponse<String> answer, String digest) {
    if (answer.statusCode() != 201) {
      lastRefusal = "blob upload: " + answer.statusCode() + " " + answer.body();
      return Optional.empty();
    }
    acks.add(new Ack(Kind.BLOBS, REPOSITORY, digest));
    return Optional.of(digest);
  }

  /** Looks for every acknowledged write of a trial on the restarted node. */
  Tally verify(ServerProcess restarted, List<Ack> trialAcks) throws Exception {
    server = restarted;
    Tally tally = new Tally();
    Map<String, String> journals = new LinkedHashMap<>();
    String lastPush = null;
    for (Ack ack : trialAcks) {
      tally.acked.merge(ack.kind(), 1, Integer::sum);
      boolean present =
          switch (ack.kind()) {
            case EVENTS ->
                journal(journals, "Device", ack.where()).contains("\"" + ack.what() + "\"");
            case REGISTRATIONS -> !journal(journals, "Device", ack.where()).isEmpty();
            case TARGETS ->
                journal(journals, "Targets", ack.where()).contains("\"" + ack.what() + "\"");
            case TOKENS ->
                journal(journals, "Factory", ack.where()).contains("\"" + ack.what() + "\"");
            case GIT_PUSHES -> {
              lastPush = ack.what();
              yield true;
            }
            case BLOBS -> blobPresent(ack.what());
            case MANIFESTS -> manifestPresent(ack.where(), ack.what());
            case LABELS ->
                journal(journals, "Device", ack.where()).contains("\"" + ack.what() + "\"");
            case ROLLOUTS ->
                wholeJournal(journals, "Rollout", ack.where())
                    .contains("\"type\":\"" + ack.what() + "\"");
          };
      if (present) {
        tally.found.merge(ack.kind(), 1, Integer::sum);
      } else {
        tally.lost.add("trial " + trial + ": " + ack);
      }
    }
    if (lastPush != null && !fetchedBranchHolds(lastPush)) {
      // Pushes form a chain: the last acknowledged commit missing means every acknowledged push
      // after the first
      // missing one is lost; count them all as lost.
      int pushes = tally.found.getOrDefault(Kind.GIT_PUSHES, 0);
      tally.found.put(Kind.GIT_PUSHES, 0);
      tally.lost.add(
          "trial "
              + trial
              + ": branch "
              + BRANCH
              + " does not hold the acknowledged commit "
              + lastPush
              + " ("
              + pushes
              + " pushes acked)");
    }
    return tally;
  }

  /**
   * The events of an entity that a trial may have added: journals only grow, and every write of
   * earlier trials was looked for already, so each read starts after the last event read before.
   * Reading whole journals made every check slower than the last (a device held about 12,000 events
   * by trial 70).
   */
  private String journal(Map<String, String> cache, String type, String id) throws Exception {
    String key = type + "/" + id;
    String cached = cache.get(key);
    if (cached != null) {
      return cached;
    }
    long from = journalRead.getOrDefault(key, 0L) + 1;
    Answer answer = apiRead("/api/v1/journal/" + key + "?from=" + from);
    if (answer.status != 200 && answer.status != 404) {
      throw new AssertionError(
          "reading the journal of " + key + ": " + answer.status + " " + answer.body);
    }
    String body = answer.status == 200 ? answer.body : "";
    String lastLine = body.strip();
    lastLine = lastLine.substring(lastLine.lastIndexOf('\n') + 1);
    Matcher sequenceNr = SEQUENCE_NR.matcher(lastLine);
    if (sequenceNr.find()) {
      journalRead.put(key, Long.parseLong(sequenceNr.group(1)));
    }
    cache.put(key, body);
    return body;
  }

  /**
   * An entity's whole journal, for the rollouts' few events: a step done again after a kill is
   * answered as it stands (pausing a paused rollout), so its event may be one an earlier trial
   * already read.
   */
  private String wholeJournal(Map<String, String> cache, String type, String id) throws Exception {
    String key = "whole " + type + "/" + id;
    String cached = cache.get(key);
    if (cached != null) {
      return cached;
    }
    Answer answer = apiRead("/api/v1/journal/" + type + "/" + id);
    if (answer.status != 200 && answer.status != 404) {
      throw new AssertionError(
          "reading the journal of " + type + "/" + id + ": " + answer.status + " " + answer.body);
    }
    String body = answer.status == 200 ? answer.body : "";
    cache.put(key, body);
    return body;
  }

  /**
   * A read that a broken connection does not end: it is asked again, with the server's log shown,
   * so that what broke it is on record (a reset mid-body once ended a 71-trial run).
   */
  private Answer apiRead(String path) throws Exception {
    IOException broken = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      try {
        return api("GET", path, server.adminToken, null);
      } catch (IOException e) {
        broken = e;
        System.err.println(
            "crash check: reading "
                + path
                + " broke ("
                + e
                + "); asking again. Server log:\n"
                + ServerProcess.tail(server.log));
        Thread.sleep(1_000);
      }
    }
    throw broken;
  }

  private boolean blobPresent(String digest) throws Exception {
    HttpResponse<byte[]> answer = registryRead("/blobs/" + digest, null);
    return answer.statusCode() == 200 && digest(answer.body()).equals(digest);
  }

  private boolean manifestPresent(String tag, String digest) throws Exception {
    HttpResponse<byte[]> byTag = registryRead("/manifests/" + tag, MANIFEST_TYPE);
    HttpResponse<byte[]> byDigest = registryRead("/manifests/" + digest, MANIFEST_TYPE);
    return byTag.statusCode() == 200
        && digest(byTag.body()).equals(digest)
        && byDigest.statusCode() == 200
        && digest(byDigest.body()).equals(digest);
  }

  /**
   * A 200 or a 404, the only answers that tell whether a write survived. A node just restarted on a
   * loaded machine may first answer 503 (the token check or the database not ready): that is asked
   * again, and an answer that stays something else fails the test instead of counting as a lost
   * write (one 500 once did).
   */
  private HttpResponse<byte[]> registryRead(String path, String accept) throws Exception {
    HttpResponse<byte[]> answer = null;
    for (int attempt = 0; attempt < 20; attempt++) {
      HttpRequest.Builder request = registry(path).GET();
      if (accept != null) {
        request.header("Accept", accept);
      }
      answer = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (answer.statusCode() == 200 || answer.statusCode() == 404) {
        return answer;
      }
      Thread.sleep(500);
    }
    throw new AssertionError(
        "reading "
            + path
            + " from the registry: "
            + answer.statusCode()
            + " "
            + new String(answer.body(), StandardCharsets.UTF_8));
  }

  /**
   * Fetches the branch into an empty repository (every object must come from the server) and checks
   * ancestry.
   */
  private boolean fetchedBranchHolds(String commit) throws Exception {
    Path check = Files.createTempDirectory(work, "fetch-");
    GitCli.ok(check, "init", "-q", "--bare");
    GitCli.Result fetched =
        GitCli.run(
            check, "fetch", "-q", gitUrl(), "refs/heads/" + BRANCH + ":refs/heads/" + BRANCH);
    boolean holds =
        fetched.exit() == 0
            && GitCli.run(check, "merge-base", "--is-ancestor", commit, "refs/heads/" + BRANCH)
                    .exit()
                == 0;
    if (holds) {
      GitCli.ok(check, "fsck", "--no-dangling", "--connectivity-only");
    }
    return holds;
  }

  private String apiBase() {
    return "http://127.0.0.1:" + server.httpPort;
  }

  private String gitUrl() {
    return "http://ci:"
        + ciToken
        + "@127.0.0.1:"
        + server.httpPort
        + "/git/"
        + FACTORY
        + "/containers.git";
  }

  private HttpRequest.Builder registry(String path) {
    return authorized(HttpRequest.newBuilder(URI.create(apiBase() + "/v2/" + REPOSITORY + path)));
  }

  private HttpRequest.Builder authorized(HttpRequest.Builder request) {
    String basic =
        Base64.getEncoder().encodeToString(("ci:" + ciToken).getBytes(StandardCharsets.UTF_8));
    return request.timeout(Duration.ofSeconds(15)).header("Authorization", "Basic " + basic);
  }

  private record Answer(int status, String body) {}

  private Answer api(String method, String path, String bearer, String json)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(apiBase() + path))
            .timeout(Duration.ofSeconds(15))
            .header("Authorization", "Bearer " + bearer)
            .method(
                method,
                json == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(json));
    if (json != null) {
      request.header("Content-Type", "application/json");
    }
    HttpResponse<String> response =
        http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    return new Answer(response.statusCode(), response.body());
  }

  private static void check(Answer answer, int status) {
    if (answer.status != status) {
      throw new AssertionError(
          "expected " + status + ", got " + answer.status + ": " + answer.body);
    }
  }

  static String digest(byte[] content) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
