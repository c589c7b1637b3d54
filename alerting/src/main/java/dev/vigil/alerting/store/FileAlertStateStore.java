package dev.vigil.alerting.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vigil.alerting.GroupState;

/** {@link AlertStateStore} as one JSON file per group key under a directory, replaced atomically. */
public final class FileAlertStateStore implements AlertStateStore {
    private static final Logger log = LoggerFactory.getLogger(FileAlertStateStore.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    public FileAlertStateStore(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create alert state directory " + dir, e);
        }
    }

    private Path file(String key) {
        return dir.resolve(Names.encode(key) + ".json");
    }

    @Override
    public Optional<GroupState> load(String groupKey) {
        Path f = file(groupKey);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(f.toFile(), GroupState.class));
        } catch (IOException e) {
            log.warn("cannot read alert state file={} error={}", f, e.toString());
            return Optional.empty();
        }
    }

    @Override
    public void save(String groupKey, GroupState state) {
        Path f = file(groupKey);
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
        try {
            Files.write(tmp, JSON.writeValueAsBytes(state));
            Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write alert state " + f, e);
        }
    }

    @Override
    public void delete(String groupKey) {
        try {
            Files.deleteIfExists(file(groupKey));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
