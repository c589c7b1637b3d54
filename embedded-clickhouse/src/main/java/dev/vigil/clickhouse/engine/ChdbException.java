package dev.vigil.clickhouse.engine;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An error in ClickHouse's own terms: the numeric code (e.g. 60) and the engine's text, which already
 * reads {@code Code: 60. DB::Exception: ... (UNKNOWN_TABLE)}.
 */
public final class ChdbException extends RuntimeException {
    private static final Pattern CODE = Pattern.compile("Code: (\\d+)\\.");
    private static final Pattern NAME = Pattern.compile("\\(([A-Z][A-Z0-9_]+)\\)\\s*(\\(version [^)]*\\))?\\s*$");

    // A few codes the server itself produces without asking the engine.
    public static final int SYNTAX_ERROR = 62;
    public static final int UNKNOWN_TABLE = 60;
    public static final int CANNOT_PARSE_INPUT_ASSERTION_FAILED = 27;
    public static final int ATTEMPT_TO_READ_AFTER_EOF = 32;
    public static final int CHECKSUM_DOESNT_MATCH = 40;
    public static final int UNKNOWN_COMPRESSION_METHOD = 89;
    public static final int TOO_LARGE_SIZE_COMPRESSED = 246;
    public static final int CANNOT_DECOMPRESS = 271;
    public static final int NO_DATA_TO_INSERT = 108;
    public static final int UNKNOWN_SETTING = 115;
    public static final int READONLY = 164;
    public static final int UNKNOWN_USER = 192;
    public static final int WRONG_PASSWORD = 193;
    public static final int REQUIRED_PASSWORD = 194;
    public static final int SESSION_NOT_FOUND = 372;
    public static final int SESSION_IS_LOCKED = 373;
    public static final int HTTP_LENGTH_REQUIRED = 381;
    public static final int UNKNOWN_FORMAT = 73;
    public static final int BAD_ARGUMENTS = 36;
    public static final int QUERY_WAS_CANCELLED = 394;
    public static final int TIMEOUT_EXCEEDED = 159;
    public static final int AUTHENTICATION_FAILED = 516;
    public static final int NOT_IMPLEMENTED = 48;
    public static final int NETWORK_ERROR = 210;
    public static final int TOO_MANY_SIMULTANEOUS_QUERIES = 202;
    public static final int INVALID_SESSION_TIMEOUT = 374;
    public static final int UNKNOWN_EXCEPTION = 1002;
    public static final int BAD_REQUEST_PARAMETER = 408;
    public static final int QUERY_IS_TOO_LARGE_CODE = 229;
    public static final int ZLIB_INFLATE_FAILED = 354;
    public static final int CANNOT_READ_ALL_DATA = 33;

    private final int code;

    public ChdbException(int code, String message) {
        super(message);
        this.code = code;
    }

    /** Builds one from the engine's error text, reading the code out of it (1002 if it has none). */
    public static ChdbException fromEngine(String text) {
        String msg = text == null ? "Unknown error" : text.strip();
        Matcher m = CODE.matcher(msg);
        int code = m.find() ? Integer.parseInt(m.group(1)) : UNKNOWN_EXCEPTION;
        if (!msg.startsWith("Code: ")) {
            msg = "Code: " + code + ". DB::Exception: " + msg;
        }
        return new ChdbException(code, msg);
    }

    /** A server-side error in the engine's wording: {@code Code: N. DB::Exception: text. (NAME)}. */
    public static ChdbException of(int code, String name, String text) {
        return new ChdbException(code, "Code: " + code + ". DB::Exception: " + text + ". (" + name + ")");
    }

    public int code() {
        return code;
    }

    /** The symbolic name at the end of the message, e.g. UNKNOWN_TABLE, or null. */
    public String codeName() {
        Matcher m = NAME.matcher(getMessage());
        return m.find() ? m.group(1) : null;
    }
}
