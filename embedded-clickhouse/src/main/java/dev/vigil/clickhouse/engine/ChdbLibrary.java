package dev.vigil.clickhouse.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * FFM bindings to libchdb.so (chDB 26.7.x, header programs/local/chdb.h). Loaded once per JVM.
 *
 * <p>Only raw calls live here; ownership rules (destroy every result, close every connection) are
 * enforced by {@link ChdbEngine} and {@link ChdbConnection}.
 */
public final class ChdbLibrary {
    /** Env var naming libchdb.so. */
    public static final String ENV = "VIGIL_CHDB_LIB";
    /** System property naming libchdb.so (wins over nothing; env var wins over it). */
    public static final String PROP = "vigil.chdb.lib";
    /** The chDB npm package the project pins; used to find the cached copy. */
    public static final String PINNED_PACKAGE_DIR = "_chdb_lib-linux-x64-gnu_26.7.3-stable.1";

    private static volatile ChdbLibrary instance;

    final Path path;
    final MethodHandle version;
    final MethodHandle setSignalHandlersEnabled;
    final MethodHandle connect;
    final MethodHandle closeConn;
    final MethodHandle queryN;
    final MethodHandle queryWithParamsN;
    final MethodHandle streamQueryN;
    final MethodHandle streamQueryWithParamsN;
    final MethodHandle streamFetchResult;
    final MethodHandle streamCancelQuery;
    final MethodHandle destroyQueryResult;
    final MethodHandle streamInsertN;
    final MethodHandle streamInsertWithParamsN;
    final MethodHandle streamAppend;
    final MethodHandle streamDone;
    final MethodHandle streamCancelInsert;
    final MethodHandle streamInsertError;
    final MethodHandle destroyInsertStream;
    final MethodHandle resultBuffer;
    final MethodHandle resultLength;
    final MethodHandle resultElapsed;
    final MethodHandle resultRowsRead;
    final MethodHandle resultBytesRead;
    final MethodHandle resultRowsWritten;
    final MethodHandle resultBytesWritten;
    final MethodHandle resultError;
    final MethodHandle shutdown;

    private ChdbLibrary(Path path) {
        this.path = path;
        Linker linker = Linker.nativeLinker();
        SymbolLookup lookup = SymbolLookup.libraryLookup(path, Arena.global());
        Binder b = new Binder(linker, lookup);
        Linker.Option critical = Linker.Option.critical(false);
        version = b.bind("chdb_version", FunctionDescriptor.of(ADDRESS));
        setSignalHandlersEnabled = b.bind("chdb_set_signal_handlers_enabled", FunctionDescriptor.ofVoid(JAVA_INT));
        connect = b.bind("chdb_connect", FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS));
        closeConn = b.bind("chdb_close_conn", FunctionDescriptor.ofVoid(ADDRESS));
        FunctionDescriptor queryShape = FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG);
        FunctionDescriptor paramsShape = FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
        queryN = b.bind("chdb_query_n", queryShape);
        queryWithParamsN = b.bind("chdb_query_with_params_n", paramsShape);
        streamQueryN = b.bind("chdb_stream_query_n", queryShape);
        streamQueryWithParamsN = b.bind("chdb_stream_query_with_params_n", paramsShape);
        streamFetchResult = b.bind("chdb_stream_fetch_result", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        streamCancelQuery = b.bind("chdb_stream_cancel_query", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        destroyQueryResult = b.bind("chdb_destroy_query_result", FunctionDescriptor.ofVoid(ADDRESS));
        streamInsertN = b.bind("chdb_stream_insert_n", queryShape);
        streamInsertWithParamsN = b.bind("chdb_stream_insert_with_params_n", paramsShape);
        streamAppend = b.bind("chdb_stream_append", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        streamDone = b.bind("chdb_stream_done", FunctionDescriptor.of(ADDRESS, ADDRESS));
        streamCancelInsert = b.bind("chdb_stream_cancel_insert", FunctionDescriptor.ofVoid(ADDRESS));
        streamInsertError = b.bind("chdb_stream_insert_error", FunctionDescriptor.of(ADDRESS, ADDRESS), critical);
        destroyInsertStream = b.bind("chdb_destroy_insert_stream", FunctionDescriptor.ofVoid(ADDRESS));
        resultBuffer = b.bind("chdb_result_buffer", FunctionDescriptor.of(ADDRESS, ADDRESS), critical);
        resultLength = b.bind("chdb_result_length", FunctionDescriptor.of(JAVA_LONG, ADDRESS), critical);
        resultElapsed = b.bind("chdb_result_elapsed", FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS), critical);
        resultRowsRead = b.bind("chdb_result_rows_read", FunctionDescriptor.of(JAVA_LONG, ADDRESS), critical);
        resultBytesRead = b.bind("chdb_result_bytes_read", FunctionDescriptor.of(JAVA_LONG, ADDRESS), critical);
        resultRowsWritten = b.bind("chdb_result_rows_written", FunctionDescriptor.of(JAVA_LONG, ADDRESS), critical);
        resultBytesWritten = b.bind("chdb_result_bytes_written", FunctionDescriptor.of(JAVA_LONG, ADDRESS), critical);
        resultError = b.bind("chdb_result_error", FunctionDescriptor.of(ADDRESS, ADDRESS), critical);
        shutdown = b.bind("chdb_shutdown", FunctionDescriptor.of(JAVA_INT));
        if (!b.missing.isEmpty()) {
            throw new IllegalStateException("libchdb.so at " + path + " lacks symbols " + b.missing
                    + "; the project needs chDB 26.7.3 or later: run scripts/fetch-chdb.sh and point "
                    + ENV + " at the file it prints");
        }
    }

    /** Loads the library once per JVM (idempotent), and disables chDB's signal handlers. */
    public static ChdbLibrary get() {
        ChdbLibrary lib = instance;
        if (lib != null) {
            return lib;
        }
        synchronized (ChdbLibrary.class) {
            if (instance == null) {
                Path p = locate();
                ChdbLibrary loaded = new ChdbLibrary(p);
                try {
                    // Must precede the first chdb_connect: with its handlers installed the JVM's implicit
                    // null checks (SIGSEGV) hang instead of raising NullPointerException.
                    loaded.setSignalHandlersEnabled.invokeExact(0);
                } catch (Throwable t) {
                    throw new IllegalStateException("chdb_set_signal_handlers_enabled failed", t);
                }
                instance = loaded;
            }
            return instance;
        }
    }

    /** Where libchdb.so is: {@value #ENV}, then -D{@value #PROP}, then the fetch script's cache. */
    public static Path locate() {
        String explicit = System.getenv(ENV);
        String source = "env var " + ENV;
        if (explicit == null || explicit.isBlank()) {
            explicit = System.getProperty(PROP);
            source = "system property " + PROP;
        }
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit.trim());
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(source + " names " + p + ", which is not a file; run scripts/fetch-chdb.sh"
                        + " (it prints the path of libchdb.so) and set " + ENV + " to what it prints");
            }
            return p;
        }
        List<Path> candidates = new ArrayList<>();
        String cacheDir = System.getenv("VIGIL_CACHE_DIR");
        Path cache = cacheDir != null && !cacheDir.isBlank() ? Path.of(cacheDir)
                : Path.of(System.getProperty("user.home"), ".cache", "vigil");
        Path chdbCache = cache.resolve("chdb");
        Path pinned = chdbCache.resolve(PINNED_PACKAGE_DIR).resolve("package/lib/libchdb.so");
        if (Files.isRegularFile(pinned)) {
            return pinned;
        }
        if (Files.isDirectory(chdbCache)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(chdbCache)) {
                for (Path d : dirs) {
                    Path lib = d.resolve("package/lib/libchdb.so");
                    if (Files.isRegularFile(lib)) {
                        candidates.add(lib);
                    }
                }
            } catch (Exception ignored) {
                // fall through to the error below
            }
        }
        if (!candidates.isEmpty()) {
            candidates.sort(null);
            return candidates.getLast();
        }
        throw new IllegalStateException("libchdb.so not found: set " + ENV + " (or -D" + PROP
                + ") to its path, or run scripts/fetch-chdb.sh, which downloads it into " + chdbCache
                + " and prints the path");
    }

    public Path path() {
        return path;
    }

    public String version() {
        try {
            MemorySegment s = (MemorySegment) version.invokeExact();
            return cString(s);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static String cString(MemorySegment s) {
        if (s == null || s.equals(MemorySegment.NULL)) {
            return null;
        }
        return s.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static final class Binder {
        final Linker linker;
        final SymbolLookup lookup;
        final List<String> missing = new ArrayList<>();

        Binder(Linker linker, SymbolLookup lookup) {
            this.linker = linker;
            this.lookup = lookup;
        }

        MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... options) {
            var sym = lookup.find(name);
            if (sym.isEmpty()) {
                missing.add(name);
                return null;
            }
            return linker.downcallHandle(sym.get(), fd, options);
        }
    }

    static final ValueLayout.OfLong SIZE_T = JAVA_LONG;
}
