package dev.vigil.aggregator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP proxy for tests that need a network split between one client and a server: {@link #cut} closes every
 * connection and refuses new ones until {@link #heal}; {@link #stall} holds what the client sends (a server that is
 * slow to take requests) until {@link #release}, when it is delivered. One thread per direction per connection.
 */
final class TcpProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int targetPort;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile boolean cut;
    private volatile boolean closed;
    private volatile boolean stalled;
    /** What the client sent while stalled, as ISO-8859-1 text (a test looks for the request it waits for). */
    private final StringBuilder held = new StringBuilder();

    TcpProxy(int port, int targetPort) throws IOException {
        this.targetPort = targetPort;
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        Thread.ofPlatform().daemon().name("tcp-proxy-" + port).start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                if (cut) {
                    client.setSoLinger(true, 0); // a reset, as a refused or broken path looks to the client
                    client.close();
                    continue;
                }
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                open.add(client);
                open.add(upstream);
                pipe(client, upstream, true);
                pipe(upstream, client, false);
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private void pipe(Socket from, Socket to, boolean fromClient) {
        Thread.ofPlatform().daemon().start(() -> {
            byte[] buf = new byte[64 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (fromClient && stalled) {
                        synchronized (held) {
                            held.append(new String(buf, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1));
                        }
                        while (stalled && !closed) {
                            Thread.sleep(5);
                        }
                    }
                    out.write(buf, 0, n);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException ignored) {
                // the other side or cut() closed it
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        });
    }

    /** Closes every connection through the proxy and resets new ones. */
    void cut() {
        cut = true;
        for (Socket s : open) {
            closeQuietly(s);
        }
        open.clear();
    }

    void heal() {
        cut = false;
    }

    /** Holds what clients send from now on (connections stay open) until {@link #release}. */
    void stall() {
        synchronized (held) {
            held.setLength(0);
        }
        stalled = true;
    }

    /** Delivers what {@link #stall} held, and what follows. */
    void release() {
        stalled = false;
    }

    /** What clients sent since {@link #stall}, as ISO-8859-1 text. */
    String held() {
        synchronized (held) {
            return held.toString();
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        cut();
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
