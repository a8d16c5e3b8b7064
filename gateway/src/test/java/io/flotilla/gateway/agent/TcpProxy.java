package io.flotilla.gateway.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP relay that can make the server unreachable: while down it resets every new
 * connection and has reset those it relayed, as a stopped server or a cut network would; up again,
 * it relays as before. TLS passes through untouched, so devices keep talking mutual TLS to the real
 * gateway.
 */
final class TcpProxy implements AutoCloseable {

  private final int targetPort;
  private final ServerSocket listener;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean down;

  TcpProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "tcp-proxy-" + listener.getLocalPort());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return listener.getLocalPort();
  }

  void down() {
    down = true;
    open.forEach(TcpProxy::reset);
  }

  void up() {
    down = false;
  }

  @Override
  public void close() throws IOException {
    listener.close();
    open.forEach(TcpProxy::reset);
  }

  private void accept() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        if (down) {
          reset(client);
          continue;
        }
        Socket server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        open.add(client);
        open.add(server);
        relay(client, server);
        relay(server, client);
      } catch (IOException e) {
        // the listener closed, or the server refused this one connection: the client sees its
        // connection end
      }
    }
  }

  private void relay(Socket from, Socket to) {
    Thread thread =
        new Thread(
            () -> {
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                in.transferTo(out);
              } catch (IOException e) {
                // either side closed or was reset
              } finally {
                reset(from);
                reset(to);
                open.remove(from);
                open.remove(to);
              }
            },
            "tcp-relay");
    thread.setDaemon(true);
    thread.start();
  }

  private static void reset(Socket socket) {
    try {
      socket.setSoLinger(true, 0);
      socket.close();
    } catch (IOException e) {
      // closed already
    }
  }
}
