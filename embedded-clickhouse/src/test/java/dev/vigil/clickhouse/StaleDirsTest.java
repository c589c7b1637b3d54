package dev.vigil.clickhouse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StaleDirsTest {
    @Test
    void deletesOnlyOldSharedServerDirectories(@TempDir Path tmp) throws Exception {
        Path old = Files.createDirectories(tmp.resolve("vigil-clickhouse-111/store/abc"));
        Files.writeString(old.resolve("data.bin"), "x");
        Path oldRoot = tmp.resolve("vigil-clickhouse-111");
        FileTime longAgo = FileTime.from(Instant.now().minus(Duration.ofHours(30)));
        for (Path x : new Path[] {old.resolve("data.bin"), old, old.getParent(), oldRoot}) {
            Files.setLastModifiedTime(x, longAgo);
        }
        Path fresh = Files.createDirectories(tmp.resolve("vigil-clickhouse-222"));
        // an old root whose engine still writes below it is in use
        Path live = Files.createDirectories(tmp.resolve("vigil-clickhouse-333/store"));
        Files.writeString(live.resolve("part.bin"), "y");
        Files.setLastModifiedTime(tmp.resolve("vigil-clickhouse-333"), FileTime.from(Instant.now().minus(Duration.ofDays(2))));
        Files.setLastModifiedTime(live, FileTime.from(Instant.now().minus(Duration.ofDays(2))));
        Path other = Files.createDirectories(tmp.resolve("something-else"));
        Files.setLastModifiedTime(other, FileTime.from(Instant.now().minus(Duration.ofDays(3))));

        assertEquals(1, EmbeddedClickHouse.deleteStaleDirs(tmp, "vigil-clickhouse-*", Duration.ofHours(24)));
        assertFalse(Files.exists(oldRoot));
        assertTrue(Files.exists(fresh));
        assertTrue(Files.exists(live.resolve("part.bin")));
        assertTrue(Files.exists(other));
    }
}
