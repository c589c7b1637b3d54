package dev.vigil.clickhouse;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Configuration of the embedded ClickHouse server. {@link #fromEnv(Map)} reads the VIGIL_CLICKHOUSE_*
 * variables and validates each, naming the bad key and what it accepts; {@link #builder(Path)} is for
 * in-process use.
 */
public record ServerConfig(
        String host,
        int port,
        Path dataDir,
        List<User> users,
        int poolSize,
        int readonlyPoolSize,
        long maxBodyBytes,
        Duration queueTimeout,
        Duration defaultSessionTimeout,
        Duration maxSessionTimeout,
        int maxSessions,
        Duration shutdownGrace,
        String displayName,
        long responseBufferBytes,
        long maxBufferedResultBytes) {

    /** A user: name, password ("" for none) and whether it may only read. */
    public record User(String name, String password, boolean readonly) {
        public User {
            Objects.requireNonNull(name);
            Objects.requireNonNull(password);
        }

        @Override
        public String toString() {
            return name + (password.isEmpty() ? "" : ":***") + (readonly ? ":readonly" : "");
        }
    }

    public static final String HOST = "VIGIL_CLICKHOUSE_HOST";
    public static final String PORT = "VIGIL_CLICKHOUSE_PORT";
    public static final String DATA_DIR = "VIGIL_CLICKHOUSE_DATA_DIR";
    public static final String USERS = "VIGIL_CLICKHOUSE_USERS";
    public static final String POOL_SIZE = "VIGIL_CLICKHOUSE_POOL_SIZE";
    public static final String READONLY_POOL_SIZE = "VIGIL_CLICKHOUSE_READONLY_POOL_SIZE";
    public static final String MAX_BODY = "VIGIL_CLICKHOUSE_MAX_BODY_BYTES";
    public static final String QUEUE_TIMEOUT = "VIGIL_CLICKHOUSE_QUEUE_TIMEOUT_MS";
    public static final String SESSION_TIMEOUT = "VIGIL_CLICKHOUSE_SESSION_TIMEOUT_S";
    public static final String MAX_SESSION_TIMEOUT = "VIGIL_CLICKHOUSE_MAX_SESSION_TIMEOUT_S";
    public static final String MAX_SESSIONS = "VIGIL_CLICKHOUSE_MAX_SESSIONS";
    public static final String SHUTDOWN_GRACE = "VIGIL_CLICKHOUSE_SHUTDOWN_GRACE_MS";
    public static final String DISPLAY_NAME = "VIGIL_CLICKHOUSE_DISPLAY_NAME";
    public static final String RESPONSE_BUFFER = "VIGIL_CLICKHOUSE_RESPONSE_BUFFER_BYTES";
    public static final String MAX_BUFFERED_RESULT = "VIGIL_CLICKHOUSE_MAX_BUFFERED_RESULT_BYTES";

    /** Every key read, for docs and for rejecting typos. */
    public static final List<String> KEYS = List.of(HOST, PORT, DATA_DIR, USERS, POOL_SIZE, READONLY_POOL_SIZE,
            MAX_BODY, QUEUE_TIMEOUT, SESSION_TIMEOUT, MAX_SESSION_TIMEOUT, MAX_SESSIONS, SHUTDOWN_GRACE,
            DISPLAY_NAME, RESPONSE_BUFFER, MAX_BUFFERED_RESULT);

    public static int defaultPoolSize() {
        return Math.max(4, Runtime.getRuntime().availableProcessors() * 2);
    }

    /** Thrown for a bad configuration value; the message names the key and the accepted values. */
    public static final class ConfigException extends IllegalArgumentException {
        public ConfigException(String message) {
            super(message);
        }
    }

    public static ServerConfig fromEnv(Map<String, String> env) {
        List<String> errors = new ArrayList<>();
        for (String k : env.keySet()) {
            if (k.startsWith("VIGIL_CLICKHOUSE_") && !KEYS.contains(k) && !k.equals("VIGIL_CLICKHOUSE_URL")) {
                errors.add(k + ": unknown key; accepted keys: " + String.join(", ", KEYS));
            }
        }
        Reader r = new Reader(env, errors);
        String host = r.get(HOST, "127.0.0.1", v -> {
            if (v.isBlank()) {
                throw new IllegalArgumentException();
            }
            return v.trim();
        }, "a host name or IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0");
        int port = r.get(PORT, 8123, v -> intIn(v, 0, 65535), "an integer port 0..65535 (0 = any free port)");
        Path dataDir = r.get(DATA_DIR, Path.of("data", "clickhouse"), v -> {
            if (v.isBlank()) {
                throw new IllegalArgumentException();
            }
            return Path.of(v.trim());
        }, "a directory path for the engine's data (created if missing)");
        List<User> users = r.get(USERS, List.of(new User("default", "", false)), ServerConfig::parseUsers,
                "a comma-separated list of name:password[:readonly], e.g. default:,writer:s3cret,reader:pw:readonly");
        int pool = r.get(POOL_SIZE, defaultPoolSize(), v -> intIn(v, 1, 512), "an integer 1..512");
        int roPool = r.get(READONLY_POOL_SIZE, 2, v -> intIn(v, 1, 512), "an integer 1..512");
        long maxBody = r.get(MAX_BODY, 1L << 30, v -> sizeIn(v, 1024, 1L << 31),
                "a size from 1KiB to 2GiB, e.g. 268435456, 256MiB or 1GiB");
        long queueMs = r.get(QUEUE_TIMEOUT, 30_000L, v -> longIn(v, 0, 3_600_000), "milliseconds 0..3600000");
        long sessS = r.get(SESSION_TIMEOUT, 60L, v -> longIn(v, 1, 86_400), "seconds 1..86400");
        long maxSessS = r.get(MAX_SESSION_TIMEOUT, 3600L, v -> longIn(v, 1, 86_400), "seconds 1..86400");
        int maxSessions = r.get(MAX_SESSIONS, 64, v -> intIn(v, 0, 4096), "an integer 0..4096");
        long graceMs = r.get(SHUTDOWN_GRACE, 30_000L, v -> longIn(v, 0, 3_600_000), "milliseconds 0..3600000");
        String display = r.get(DISPLAY_NAME, defaultDisplayName(), v -> {
            if (v.isBlank() || !v.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
                throw new IllegalArgumentException();
            }
            return v.trim();
        }, "a non-empty printable ASCII name");
        long respBuf = r.get(RESPONSE_BUFFER, 1L << 20, v -> sizeIn(v, 0, 1L << 30), "a size 0..1GiB, e.g. 1MiB");
        long maxBuffered = r.get(MAX_BUFFERED_RESULT, 256L << 20, v -> sizeIn(v, 0, 1L << 31),
                "a size 0..2GiB, e.g. 256MiB");
        if (errors.isEmpty() && sessS > maxSessS) {
            errors.add(SESSION_TIMEOUT + ": " + sessS + " exceeds " + MAX_SESSION_TIMEOUT + " (" + maxSessS + ")");
        }
        if (!errors.isEmpty()) {
            throw new ConfigException("invalid embedded ClickHouse configuration:\n  " + String.join("\n  ", errors));
        }
        return new ServerConfig(host, port, dataDir, users, pool, roPool, maxBody, Duration.ofMillis(queueMs),
                Duration.ofSeconds(sessS), Duration.ofSeconds(maxSessS), maxSessions, Duration.ofMillis(graceMs),
                display, respBuf, maxBuffered);
    }

    /** Defaults for in-process use: ephemeral port on 127.0.0.1, user "default" without password. */
    public static Builder builder(Path dataDir) {
        return new Builder(dataDir);
    }

    public Builder toBuilder() {
        Builder b = new Builder(dataDir);
        b.host = host;
        b.port = port;
        b.users = users;
        b.poolSize = poolSize;
        b.readonlyPoolSize = readonlyPoolSize;
        b.maxBodyBytes = maxBodyBytes;
        b.queueTimeout = queueTimeout;
        b.defaultSessionTimeout = defaultSessionTimeout;
        b.maxSessionTimeout = maxSessionTimeout;
        b.maxSessions = maxSessions;
        b.shutdownGrace = shutdownGrace;
        b.displayName = displayName;
        b.responseBufferBytes = responseBufferBytes;
        b.maxBufferedResultBytes = maxBufferedResultBytes;
        return b;
    }

    public static final class Builder {
        private final Path dataDir;
        private String host = "127.0.0.1";
        private int port = 0;
        private List<User> users = List.of(new User("default", "", false));
        private int poolSize = defaultPoolSize();
        private int readonlyPoolSize = 2;
        private long maxBodyBytes = 1L << 30;
        private Duration queueTimeout = Duration.ofSeconds(30);
        private Duration defaultSessionTimeout = Duration.ofSeconds(60);
        private Duration maxSessionTimeout = Duration.ofHours(1);
        private int maxSessions = 64;
        private Duration shutdownGrace = Duration.ofSeconds(30);
        private String displayName = defaultDisplayName();
        private long responseBufferBytes = 1L << 20;
        private long maxBufferedResultBytes = 256L << 20;

        private Builder(Path dataDir) {
            this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
        }

        public Builder host(String v) { this.host = v; return this; }
        public Builder port(int v) { this.port = v; return this; }
        public Builder users(List<User> v) { this.users = List.copyOf(v); return this; }
        public Builder poolSize(int v) { this.poolSize = v; return this; }
        public Builder readonlyPoolSize(int v) { this.readonlyPoolSize = v; return this; }
        public Builder maxBodyBytes(long v) { this.maxBodyBytes = v; return this; }
        public Builder queueTimeout(Duration v) { this.queueTimeout = v; return this; }
        public Builder defaultSessionTimeout(Duration v) { this.defaultSessionTimeout = v; return this; }
        public Builder maxSessions(int v) { this.maxSessions = v; return this; }
        public Builder shutdownGrace(Duration v) { this.shutdownGrace = v; return this; }
        public Builder displayName(String v) { this.displayName = v; return this; }
        public Builder responseBufferBytes(long v) { this.responseBufferBytes = v; return this; }
        public Builder maxBufferedResultBytes(long v) { this.maxBufferedResultBytes = v; return this; }

        public ServerConfig build() {
            if (port < 0 || port > 65535) {
                throw new ConfigException("port: " + port + " is not 0..65535");
            }
            if (poolSize < 1 || readonlyPoolSize < 1) {
                throw new ConfigException("poolSize and readonlyPoolSize must be >= 1");
            }
            if (users.isEmpty()) {
                throw new ConfigException("users: at least one user is needed");
            }
            return new ServerConfig(host, port, dataDir, users, poolSize, readonlyPoolSize, maxBodyBytes,
                    queueTimeout, defaultSessionTimeout, maxSessionTimeout, maxSessions, shutdownGrace, displayName,
                    responseBufferBytes, maxBufferedResultBytes);
        }
    }

    static String defaultDisplayName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "vigil-embedded-clickhouse";
        }
    }

    static List<User> parseUsers(String v) {
        Map<String, User> out = new LinkedHashMap<>();
        for (String part : v.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            String[] f = p.split(":", -1);
            if (f.length < 2 || f.length > 3 || f[0].isBlank() || !f[0].matches("[A-Za-z0-9_.-]+")) {
                throw new IllegalArgumentException();
            }
            boolean ro = false;
            if (f.length == 3) {
                if (f[2].equalsIgnoreCase("readonly")) {
                    ro = true;
                } else if (!f[2].equalsIgnoreCase("readwrite")) {
                    throw new IllegalArgumentException();
                }
            }
            if (out.put(f[0], new User(f[0], f[1], ro)) != null) {
                throw new IllegalArgumentException();
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException();
        }
        return List.copyOf(out.values());
    }

    static int intIn(String v, int min, int max) {
        long x = Long.parseLong(v.trim());
        if (x < min || x > max) {
            throw new IllegalArgumentException();
        }
        return (int) x;
    }

    static long longIn(String v, long min, long max) {
        long x = Long.parseLong(v.trim());
        if (x < min || x > max) {
            throw new IllegalArgumentException();
        }
        return x;
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmgKMG]i?[bB]?|[bB])?");

    static long sizeIn(String v, long min, long max) {
        Matcher m = SIZE.matcher(v.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException();
        }
        long n = Long.parseLong(m.group(1));
        String u = m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT);
        long mul = switch (u) {
            case "", "b" -> 1;
            case "k", "kb" -> 1000;
            case "ki", "kib" -> 1024;
            case "m", "mb" -> 1000_000;
            case "mi", "mib" -> 1L << 20;
            case "g", "gb" -> 1000_000_000;
            case "gi", "gib" -> 1L << 30;
            default -> throw new IllegalArgumentException();
        };
        long x = Math.multiplyExact(n, mul);
        if (x < min || x > max) {
            throw new IllegalArgumentException();
        }
        return x;
    }

    private record Reader(Map<String, String> env, List<String> errors) {
        <T> T get(String key, T def, Function<String, T> parse, String accepted) {
            String v = env.get(key);
            if (v == null) {
                return def;
            }
            try {
                return parse.apply(v);
            } catch (RuntimeException e) {
                errors.add(key + ": '" + (key.equals(USERS) ? "<redacted>" : v) + "' is invalid; accepted: " + accepted);
                return def;
            }
        }
    }
}
