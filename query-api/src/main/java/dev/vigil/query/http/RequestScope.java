package dev.vigil.query.http;

import io.netty.channel.Channel;

/**
 * The connection of the request a worker thread is handling, so a handler behind the
 * {@code TenantRoute} contract (which carries no channel) can react when the client goes away.
 */
public final class RequestScope {
    private static final ThreadLocal<Channel> CURRENT = new ThreadLocal<>();

    private RequestScope() {
    }

    static void set(Channel ch) {
        CURRENT.set(ch);
    }

    static void clear() {
        CURRENT.remove();
    }

    /**
     * Runs {@code action} when the client closes the connection of the current request (at once if
     * it already has). Returns a handle that removes the listener.
     */
    public static AutoCloseable onClientGone(Runnable action) {
        Channel ch = CURRENT.get();
        if (ch == null) {
            return () -> { };
        }
        io.netty.util.concurrent.GenericFutureListener<io.netty.util.concurrent.Future<? super Void>> l = f -> action.run();
        ch.closeFuture().addListener(l);
        return () -> ch.closeFuture().removeListener(l);
    }
}
