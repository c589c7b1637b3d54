package dev.vigil.alerting.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@link RuleStore} as a directory of versioned files:
 * {@code <dir>/<tenant>/<namespace>/<group>/v000001.yaml}, {@code v000002.yaml},
 * {@code v000003.deleted}, ... (names percent-encoded). Each version is written to a temporary
 * file, fsynced and atomically renamed, so a crash leaves either the old or the new version.
 * The modification time of a version file is its update time.
 */
public final class FileRuleStore implements RuleStore {
    private static final Pattern VERSION = Pattern.compile("v(\\d{6,})\\.(yaml|deleted)");

    private final Path dir;
    private final Clock clock;

    public FileRuleStore(Path dir, Clock clock) {
        this.dir = dir;
        this.clock = clock;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create rule store directory " + dir, e);
        }
    }

    private Path groupDir(String tenant, String namespace, String group) {
        return dir.resolve(Names.encode(tenant)).resolve(Names.encode(namespace)).resolve(Names.encode(group));
    }

    @Override
    public synchronized List<String> tenants() {
        return children(dir).stream().map(p -> Names.decode(p.getFileName().toString())).sorted().toList();
    }

    private static List<Path> children(Path p) {
        if (!Files.isDirectory(p)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized List<StoredGroup> current(String tenant) {
        List<StoredGroup> out = new ArrayList<>();
        for (Path ns : children(dir.resolve(Names.encode(tenant)))) {
            for (Path g : children(ns)) {
                List<StoredGroup> h = read(tenant, Names.decode(ns.getFileName().toString()), Names.decode(g.getFileName().toString()), g);
                if (!h.isEmpty() && !h.getLast().deleted()) {
                    out.add(h.getLast());
                }
            }
        }
        out.sort(Comparator.comparing(StoredGroup::namespace).thenComparing(StoredGroup::group));
        return out;
    }

    @Override
    public synchronized Optional<StoredGroup> current(String tenant, String namespace, String group) {
        List<StoredGroup> h = history(tenant, namespace, group);
        return h.isEmpty() || h.getLast().deleted() ? Optional.empty() : Optional.of(h.getLast());
    }

    @Override
    public synchronized StoredGroup put(String tenant, String namespace, String group, String yaml) {
        Path g = groupDir(tenant, namespace, group);
        int next = nextVersion(g);
        write(g, String.format("v%06d.yaml", next), yaml);
        return new StoredGroup(tenant, namespace, group, next, clock.millis(), yaml);
    }

    @Override
    public synchronized Optional<StoredGroup> delete(String tenant, String namespace, String group) {
        if (current(tenant, namespace, group).isEmpty()) {
            return Optional.empty();
        }
        Path g = groupDir(tenant, namespace, group);
        int next = nextVersion(g);
        write(g, String.format("v%06d.deleted", next), "");
        return Optional.of(new StoredGroup(tenant, namespace, group, next, clock.millis(), null));
    }

    @Override
    public synchronized List<StoredGroup> history(String tenant, String namespace, String group) {
        return read(tenant, namespace, group, groupDir(tenant, namespace, group));
    }

    @Override
    public synchronized Optional<StoredGroup> version(String tenant, String namespace, String group, int version) {
        return history(tenant, namespace, group).stream().filter(s -> s.version() == version).findFirst();
    }

    private int nextVersion(Path g) {
        int max = 0;
        if (Files.isDirectory(g)) {
            try (Stream<Path> s = Files.list(g)) {
                for (Path p : s.toList()) {
                    Matcher m = VERSION.matcher(p.getFileName().toString());
                    if (m.matches()) {
                        max = Math.max(max, Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return max + 1;
    }

    private void write(Path g, String name, String content) {
        try {
            Files.createDirectories(g);
            Path tmp = g.resolve("." + name + ".tmp");
            try (var ch = java.nio.channels.FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
            Files.move(tmp, g.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write rule group version " + g.resolve(name), e);
        }
    }

    private List<StoredGroup> read(String tenant, String namespace, String group, Path g) {
        List<StoredGroup> out = new ArrayList<>();
        if (!Files.isDirectory(g)) {
            return out;
        }
        try (Stream<Path> s = Files.list(g)) {
            for (Path p : s.toList()) {
                Matcher m = VERSION.matcher(p.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                int v = Integer.parseInt(m.group(1));
                long t = Files.getLastModifiedTime(p).toMillis();
                String yaml = m.group(2).equals("yaml") ? Files.readString(p, StandardCharsets.UTF_8) : null;
                out.add(new StoredGroup(tenant, namespace, group, v, t, yaml));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.sort(Comparator.comparingInt(StoredGroup::version));
        return out;
    }
}
