package io.flotilla.fleetsim;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

/**
 * One simulated device's TLS connection on non-blocking NIO and an {@link SSLEngine}: HTTP/1.1
 * exchanges, one at a time, and after an upgrade the server-to-client half of a WebSocket (RFC
 * 6455). All state is touched only on its {@link IoLoop}'s thread; other threads hand work over
 * with {@link IoLoop#execute}.
 */
final class TlsConnection {

  /** What came back; only the header the simulator acts on is kept. */
  record Response(int status, String checksum, byte[] body) {}

  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
  private static final int MAX_RESPONSE = 4 * 1024 * 1024;
  private static final byte[] HEADER_END = {'\r', '\n', '\r', '\n'};

  private final IoLoop loop;
  private final ConnectionBudget budget;
  private final SSLEngine engine;
  private final Runnable onEstablished;
  private final Runnable onClose;
  private SocketChannel channel;
  private SelectionKey key;
  private boolean established;
  private boolean closed;

  /**
   * Why the connection ended, for exchanges queued after that: a refused connect is not a server's
   * close.
   */
  private Failure closedBy;

  private boolean holdsBudget;
  private ByteBuffer pendingIn;
  private ByteBuffer pendingOut;
  private ByteBuffer appOut;
  private byte[] in = new byte[0];
  private int inLength;
  private CompletableFuture<Response> exchange;
  private long deadline;
  private long exchangeTimeoutNanos;
  private boolean deadlineSet;
  private Consumer<String> webSocketText;

  private TlsConnection(
      IoLoop loop,
      ConnectionBudget budget,
      SSLEngine engine,
      Runnable onEstablished,
      Runnable onClose) {
    this.loop = loop;
    this.budget = budget;
    this.engine = engine;
    this.onEstablished = onEstablished;
    this.onClose = onClose;
  }

  /**
   * Starts connecting; an exchange may be queued at once and is sent after the handshake. {@code
   * onEstablished} runs once the handshake is done, {@code onClose} when the connection ends, both
   * on the loop's thread. The connect waits for room in {@code budget}; a queued exchange's time
   * starts when it does.
   */
  static TlsConnection open(
      IoLoop loop,
      ConnectionBudget budget,
      InetSocketAddress address,
      SSLEngine engine,
      Runnable onEstablished,
      Runnable onClose) {
    TlsConnection connection = new TlsConnection(loop, budget, engine, onEstablished, onClose);
    budget.acquire(() -> loop.execute(() -> connection.connect(address)));
    return connection;
  }

  private void connect(InetSocketAddress address) {
    if (closed) {
      budget.release();
      return;
    }
    holdsBudget = true;
    if (exchange != null) {
      deadline = System.nanoTime() + exchangeTimeoutNanos;
    }
    try {
      channel = SocketChannel.open();
      channel.configureBlocking(false);
      channel.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
      if (channel.connect(address)) {
        key = channel.register(loop.selector(), SelectionKey.OP_READ, this);
        startTls();
      } else {
        key = channel.register(loop.selector(), SelectionKey.OP_CONNECT, this);
      }
    } catch (IOException e) {
      fail(Failure.of(Failure.Kind.CONNECT, e));
    }
  }

  /** Sends one HTTP request; the future completes on the loop thread. */
  CompletableFuture<Response> exchange(byte[] request, long timeoutNanos) {
    CompletableFuture<Response> future = new CompletableFuture<>();
    loop.execute(
        () -> {
          if (closed) {
            future.completeExceptionally(
                closedBy != null
                    ? closedBy
                    : new Failure(Failure.Kind.CLOSED, "connection closed"));
            return;
          }
          if (exchange != null) {
            future.completeExceptionally(new IllegalStateException("one exchange at a time"));
            return;
          }
          exchange = future;
          exchangeTimeoutNanos = timeoutNanos;
          deadline = System.nanoTime() + timeoutNanos;
          deadlineSet = true;
          appOut = ByteBuffer.wrap(request);
          if (established) {
            process();
          }
        });
    return future;
  }

  /**
   * Sends the upgrade request; once the server answers 101, every text message goes to {@code
   * onText}.
   */
  CompletableFuture<Response> upgrade(byte[] request, long timeoutNanos, Consumer<String> onText) {
    loop.execute(() -> webSocketText = onText);
    return exchange(request, timeoutNanos);
  }

  boolean isOpen() {
    return !closed;
  }

  void close() {
    loop.execute(() -> shutdown(null));
  }

  void onReady(SelectionKey ready) {
    try {
      if (ready.isConnectable()) {
        channel.finishConnect();
        key.interestOps(SelectionKey.OP_READ);
        startTls();
        return;
      }
      process();
    } catch (IOException e) {
      fail(Failure.of(established ? Failure.Kind.IO : Failure.Kind.CONNECT, e));
    }
  }

  void checkDeadline(long now) {
    if (deadlineSet && exchange != null && now - deadline > 0) {
      fail(
          new Failure(
              Failure.Kind.TIMEOUT,
              established ? "no answer in time" : "no TLS connection in time"));
    }
  }

  private void startTls() {
    try {
      engine.beginHandshake();
    } catch (SSLException e) {
      fail(Failure.of(Failure.Kind.TLS, e));
      return;
    }
    process();
  }

  private void process() {
    try {
      while (!closed) {
        if (!flush()) {
          return;
        }
        SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
        if (status == SSLEngineResult.HandshakeStatus.NEED_TASK) {
          Runnable task;
          while ((task = engine.getDelegatedTask()) != null) {
            task.run();
          }
          continue;
        }
        if (status == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
          wrap(EMPTY);
          continue;
        }
        if (status == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING
            || status == SSLEngineResult.HandshakeStatus.FINISHED) {
          if (!established) {
            established = true;
            onEstablished.run();
          }
          if (appOut != null && appOut.hasRemaining()) {
            wrap(appOut);
            continue;
          }
        }
        if (!readAndUnwrap()) {
          return;
        }
      }
    } catch (Failure e) {
      fail(e);
    } catch (SSLException e) {
      fail(Failure.of(Failure.Kind.TLS, e));
    } catch (IOException e) {
      fail(Failure.of(established ? Failure.Kind.IO : Failure.Kind.CONNECT, e));
    }
  }

  /** False while bytes a previous write could not take are still waiting for the socket. */
  private boolean flush() throws IOException {
    if (pendingOut == null) {
      return true;
    }
    channel.write(pendingOut);
    if (pendingOut.hasRemaining()) {
      key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
      return false;
    }
    pendingOut = null;
    key.interestOps(SelectionKey.OP_READ);
    return true;
  }

  private void wrap(ByteBuffer source) throws IOException {
    ByteBuffer net = loop.netOut;
    net.clear();
    SSLEngineResult result = engine.wrap(source, net);
    if (result.getStatus() == SSLEngineResult.Status.CLOSED && result.bytesProduced() == 0) {
      throw new Failure(Failure.Kind.CLOSED, "TLS closed");
    }
    net.flip();
    channel.write(net);
    if (net.hasRemaining()) {
      pendingOut = copy(net);
      key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
    }
  }

  /** True when it made progress; false when it must wait for the socket to become readable. */
  private boolean readAndUnwrap() throws IOException {
    ByteBuffer net = loop.netIn;
    net.clear();
    if (pendingIn != null) {
      net.put(pendingIn);
      pendingIn = null;
    }
    int read = channel.read(net);
    net.flip();
    boolean progress = false;
    while (net.hasRemaining() && !closed) {
      ByteBuffer app = loop.appIn;
      app.clear();
      SSLEngineResult result = engine.unwrap(net, app);
      if (result.bytesConsumed() > 0 || result.bytesProduced() > 0) {
        progress = true;
      }
      if (app.position() > 0) {
        app.flip();
        received(app);
      }
      if (result.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
        break;
      }
      if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
        shutdown(new Failure(Failure.Kind.CLOSED, "the server closed the connection"));
        return false;
      }
      SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
      if (status == SSLEngineResult.HandshakeStatus.NEED_TASK
          || status == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
        break;
      }
    }
    if (net.hasRemaining() && !closed) {
      pendingIn = copy(net);
    }
    if (read < 0 && !progress) {
      shutdown(new Failure(Failure.Kind.CLOSED, "the server closed the connection"));
      return false;
    }
    return progress;
  }

  private void received(ByteBuffer app) {
    int length = app.remaining();
    if (inLength + length > MAX_RESPONSE) {
      fail(new Failure(Failure.Kind.PROTOCOL, "response larger than " + MAX_RESPONSE + " bytes"));
      return;
    }
    if (in.length < inLength + length) {
      in = Arrays.copyOf(in, Math.max(inLength + length, Math.max(512, in.length * 2)));
    }
    app.get(in, inLength, length);
    inLength += length;
    if (webSocketText != null && exchange == null) {
      frames();
    } else {
      response();
    }
  }

  private void response() {
    int headerEnd = indexOf(HEADER_END, 0);
    if (headerEnd < 0 || exchange == null) {
      return;
    }
    String head = new String(in, 0, headerEnd, StandardCharsets.ISO_8859_1);
    String[] lines = head.split("\r\n");
    int status;
    try {
      status = Integer.parseInt(lines[0].split(" ", 3)[1]);
    } catch (RuntimeException e) {
      fail(new Failure(Failure.Kind.PROTOCOL, "bad status line: " + lines[0]));
      return;
    }
    long contentLength = -1;
    boolean chunked = false;
    boolean closeAfter = false;
    String checksum = null;
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon < 0) {
        continue;
      }
      String name = lines[i].substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT);
      String value = lines[i].substring(colon + 1).strip();
      switch (name) {
        case "content-length" -> contentLength = Long.parseLong(value);
        case "transfer-encoding" ->
            chunked = value.toLowerCase(java.util.Locale.ROOT).contains("chunked");
        case "connection" -> closeAfter = value.equalsIgnoreCase("close");
        case "x-ats-role-checksum" -> checksum = value;
        default -> {}
      }
    }
    int bodyStart = headerEnd + HEADER_END.length;
    byte[] body;
    int consumed;
    if (status == 101
        || status == 204
        || status == 304
        || (contentLength < 0 && !chunked && status >= 100 && status < 200)) {
      body = new byte[0];
      consumed = bodyStart;
    } else if (chunked) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      int at = bodyStart;
      while (true) {
        int lineEnd = indexOf(new byte[] {'\r', '\n'}, at);
        if (lineEnd < 0) {
          return;
        }
        String sizeText = new String(in, at, lineEnd - at, StandardCharsets.ISO_8859_1);
        int size = Integer.parseInt(sizeText.split(";", 2)[0].strip(), 16);
        int dataStart = lineEnd + 2;
        if (size == 0) {
          int trailerEnd = indexOf(new byte[] {'\r', '\n'}, dataStart);
          if (trailerEnd < 0) {
            return;
          }
          consumed = trailerEnd + 2;
          break;
        }
        if (inLength < dataStart + size + 2) {
          return;
        }
        out.write(in, dataStart, size);
        at = dataStart + size + 2;
      }
      body = out.toByteArray();
    } else if (contentLength >= 0) {
      if (inLength < bodyStart + contentLength) {
        return;
      }
      body = Arrays.copyOfRange(in, bodyStart, bodyStart + (int) contentLength);
      consumed = bodyStart + (int) contentLength;
    } else {
      fail(new Failure(Failure.Kind.PROTOCOL, "a response without a length"));
      return;
    }
    System.arraycopy(in, consumed, in, 0, inLength - consumed);
    inLength -= consumed;
    CompletableFuture<Response> done = exchange;
    exchange = null;
    deadlineSet = false;
    appOut = null;
    if (status != 101) {
      webSocketText = null;
    }
    if (in.length > 4096 && inLength < 512) {
      in = Arrays.copyOf(in, 512);
    }
    done.complete(new Response(status, checksum, body));
    if (closeAfter) {
      shutdown(null);
    } else if (status == 101 && inLength > 0) {
      frames();
    }
  }

  /** Server frames are never masked; control frames are answered, text messages handed over. */
  private void frames() {
    while (inLength >= 2 && !closed) {
      int opcode = in[0] & 0x0f;
      long length = in[1] & 0x7f;
      int header = 2;
      if (length == 126) {
        if (inLength < 4) {
          return;
        }
        length = ((in[2] & 0xff) << 8) | (in[3] & 0xff);
        header = 4;
      } else if (length == 127) {
        if (inLength < 10) {
          return;
        }
        length = 0;
        for (int i = 2; i < 10; i++) {
          length = (length << 8) | (in[i] & 0xff);
        }
        header = 10;
      }
      if (length > MAX_RESPONSE) {
        fail(new Failure(Failure.Kind.PROTOCOL, "WebSocket frame too large"));
        return;
      }
      if (inLength < header + length) {
        return;
      }
      byte[] payload = Arrays.copyOfRange(in, header, header + (int) length);
      int consumed = header + (int) length;
      System.arraycopy(in, consumed, in, 0, inLength - consumed);
      inLength -= consumed;
      switch (opcode) {
        case 0x1 -> webSocketText.accept(new String(payload, StandardCharsets.UTF_8));
        case 0x9 -> sendFrame(0xA, payload);
        case 0x8 -> {
          sendFrame(0x8, payload);
          shutdown(new Failure(Failure.Kind.CLOSED, "the server closed the WebSocket"));
        }
        default -> {}
      }
    }
  }

  /** Client frames must be masked (RFC 6455 §5.3). */
  private void sendFrame(int opcode, byte[] payload) {
    if (payload.length > 125) {
      return;
    }
    byte[] mask = new byte[4];
    ThreadLocalRandom.current().nextBytes(mask);
    byte[] frame = new byte[6 + payload.length];
    frame[0] = (byte) (0x80 | opcode);
    frame[1] = (byte) (0x80 | payload.length);
    System.arraycopy(mask, 0, frame, 2, 4);
    for (int i = 0; i < payload.length; i++) {
      frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
    }
    appOut = ByteBuffer.wrap(frame);
    process();
  }

  private int indexOf(byte[] pattern, int from) {
    outer:
    for (int i = from; i <= inLength - pattern.length; i++) {
      for (int j = 0; j < pattern.length; j++) {
        if (in[i + j] != pattern[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private void fail(Failure failure) {
    shutdown(failure);
  }

  private void shutdown(Failure failure) {
    if (closed) {
      return;
    }
    closed = true;
    closedBy = failure;
    try {
      if (key != null) {
        key.cancel();
      }
      if (channel != null) {
        channel.close();
      }
    } catch (IOException ignored) {
      // closing a socket that is already gone
    }
    if (holdsBudget) {
      holdsBudget = false;
      // releasing before the descriptor is really closed let a burst of opens outrun the closes and
      // hit the
      // process's limit ("Too many open files" with the budget full of connections already closed)
      loop.afterNextSelect(budget::release);
    }
    in = null;
    pendingIn = null;
    pendingOut = null;
    CompletableFuture<Response> pending = exchange;
    exchange = null;
    if (pending != null) {
      pending.completeExceptionally(
          failure != null ? failure : new Failure(Failure.Kind.CLOSED, "connection closed"));
    }
    onClose.run();
  }

  private static ByteBuffer copy(ByteBuffer source) {
    ByteBuffer copy = ByteBuffer.allocate(source.remaining());
    copy.put(source).flip();
    return copy;
  }
}
