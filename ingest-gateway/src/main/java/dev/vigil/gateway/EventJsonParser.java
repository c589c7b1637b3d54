package dev.vigil.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Arrays;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;

import dev.vigil.common.codec.EventRecordWriter;
import dev.vigil.common.model.Event;

/**
 * Streaming parser of the {@code /v1/events} body (JSON batch or NDJSON) straight from the
 * (decompressing, capped) input stream: no tree model, one pass, per-event validation. A body
 * that is not valid JSON fails as a whole with its position; an event that is valid JSON but
 * breaks a rule is rejected alone with index, field and reason.
 */
public final class EventJsonParser {
    /**
     * The outcome of parsing one request. {@link #events()} are built on demand (the hot path
     * only needs {@link #records()}, the Kafka keys and values encoded straight from the parse).
     */
    public static final class Result {
        private final List<Parsed> parsed;
        private final List<Rejection> rejections;
        private final int total;
        private final String batchId;
        private final String tenant;
        private final long now;
        private List<Event> events;
        private EncodedEvents records;

        Result(List<Parsed> parsed, List<Rejection> rejections, int total, String batchId, String tenant, long now) {
            this.parsed = parsed;
            this.rejections = rejections;
            this.total = total;
            this.batchId = batchId;
            this.tenant = tenant;
            this.now = now;
        }

        /** The valid events, as model objects (built on first call). */
        public List<Event> events() {
            if (events == null) {
                List<Event> out = new ArrayList<>(parsed.size());
                for (Parsed e : parsed) {
                    out.add(e.toEvent(tenant, batchId, now));
                }
                events = out;
            }
            return events;
        }

        /** The valid events encoded as Kafka records (series key, RecordCodec value), in order. */
        public EncodedEvents records() {
            if (records == null) {
                EventRecordWriter w = WRITER.get();
                int n = parsed.size();
                byte[][] keys = new byte[n][];
                byte[][] values = new byte[n][];
                byte[] batchUtf8 = batchId == null ? null : batchId.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                for (int i = 0; i < n; i++) {
                    parsed.get(i).encode(w, tenant, batchUtf8, now);
                    keys[i] = w.key();
                    values[i] = w.value();
                }
                records = new EncodedEvents(keys, values);
            }
            return records;
        }

        public int accepted() {
            return parsed.size();
        }

        public List<Rejection> rejections() {
            return rejections;
        }

        public int total() {
            return total;
        }

        public String batchId() {
            return batchId;
        }
    }

    private static final ThreadLocal<EventRecordWriter> WRITER = ThreadLocal.withInitial(EventRecordWriter::new);

    private final GatewayConfig.Limits limits;
    private final Names names;
    private final JsonFactory factory;

    public EventJsonParser(GatewayConfig.Limits limits) {
        this.limits = limits;
        this.names = new Names(limits.maxNameLength(), limits.maxValueLength());
        this.factory = JsonFactory.builder()
                // NaN / Infinity tokens parse, so they are rejected per event as not_finite rather than failing the body.
                .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
                // The caller owns the stream: after a parse error EventsEndpoint reads the rest of a compressed body
                // to tell a corrupt encoding from invalid JSON, which a closed stream could only answer "Stream closed".
                .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(limits.maxJsonDepth())
                        .maxNumberLength(1000)
                        .maxStringLength((int) Math.min(Integer.MAX_VALUE, limits.maxDecompressed()))
                        .build())
                .build();
    }

    /**
     * Parses a body. {@code ndjson}: one event object per line. {@code headerBatchId}: from the
     * {@code X-Vigil-Batch-Id} header, used when the body has none.
     */
    public Result parse(InputStream in, boolean ndjson, String tenant, String headerBatchId, long nowMillis) {
        checkHeaderBatchId(headerBatchId);
        try {
            return parse(factory.createParser(in), ndjson, tenant, headerBatchId, nowMillis);
        } catch (IOException e) {
            throw RequestException.badRequest("unreadable_body", "cannot read body: " + e.getMessage());
        }
    }

    /** As {@link #parse(InputStream, boolean, String, String, long)}, straight over bytes (no stream, no copy). */
    public Result parse(byte[] body, int off, int len, boolean ndjson, String tenant, String headerBatchId, long nowMillis) {
        checkHeaderBatchId(headerBatchId);
        try {
            return parse(factory.createParser(body, off, len), ndjson, tenant, headerBatchId, nowMillis);
        } catch (IOException e) {
            throw RequestException.badRequest("unreadable_body", "cannot read body: " + e.getMessage());
        }
    }

    /**
     * The body's batch_id rule for the header, checked before a parser is created (one created and not closed keeps its
     * recycled buffers): an empty header made every such request's ids "#0", "#1", ..., so each one's events were
     * dropped as retries of the first request's.
     */
    private void checkHeaderBatchId(String headerBatchId) {
        if (headerBatchId != null) {
            Rejection r = names.value("batch_id", headerBatchId);
            if (r != null) {
                throw RequestException.badRequest("invalid_batch_id", EventsEndpoint.BATCH_ID_HEADER + " header: " + r.message());
            }
        }
    }

    private Result parse(JsonParser parser, boolean ndjson, String tenant, String headerBatchId, long nowMillis) {
        List<Parsed> parsed = new ArrayList<>();
        List<Rejection> rejections = new ArrayList<>();
        String batchId = null;
        try (JsonParser p = parser) {
            JsonToken t = p.nextToken();
            if (ndjson) {
                while (t != null) {
                    if (t != JsonToken.START_OBJECT) {
                        throw parseError(p, "expected an event object on each NDJSON line, got " + describe(t));
                    }
                    parseEvent(p, parsed, rejections, nowMillis);
                    t = p.nextToken();
                }
            } else if (t == JsonToken.START_ARRAY) {
                parseEvents(p, parsed, rejections, nowMillis);
                expectEnd(p);
            } else if (t == JsonToken.START_OBJECT) {
                boolean sawEvents = false;
                while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                    String f = p.currentName();
                    JsonToken v = p.nextToken();
                    switch (f) {
                        case "batch_id" -> {
                            if (batchId != null) {
                                throw parseError(p, "duplicate key 'batch_id'");
                            }
                            if (v != JsonToken.VALUE_STRING) {
                                throw parseError(p, "batch_id must be a string, got " + describe(v));
                            }
                            batchId = p.getText();
                            Rejection r = names.value("batch_id", batchId);
                            if (r != null) {
                                throw RequestException.badRequest("invalid_batch_id", "batch_id: " + r.message());
                            }
                        }
                        case "events" -> {
                            if (sawEvents) {
                                throw parseError(p, "duplicate key 'events'");
                            }
                            sawEvents = true;
                            if (v != JsonToken.START_ARRAY) {
                                throw parseError(p, "events must be an array, got " + describe(v));
                            }
                            parseEvents(p, parsed, rejections, nowMillis);
                        }
                        default -> throw parseError(p, "unknown top-level field '" + f + "' (expected batch_id, events)");
                    }
                }
                if (!sawEvents) {
                    throw parseError(p, "missing field 'events'");
                }
                expectEnd(p);
            } else if (t == null) {
                throw RequestException.badRequest("empty_body", "empty body: expected {\"batch_id\": ..., \"events\": [...]}");
            } else {
                throw parseError(p, "expected a JSON object {\"batch_id\": ..., \"events\": [...]}, got " + describe(t));
            }
        } catch (JsonProcessingException e) {
            throw invalidJson(e);
        } catch (IOException e) {
            throw RequestException.badRequest("unreadable_body", "cannot read body: " + e.getMessage());
        }
        if (batchId == null) {
            batchId = headerBatchId;
        }
        return new Result(parsed, rejections, parsed.size() + rejections.size(), batchId, tenant, nowMillis);
    }

    private void expectEnd(JsonParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t != null) {
            throw parseError(p, "trailing data after the JSON value: " + describe(t));
        }
    }

    private void parseEvents(JsonParser p, List<Parsed> out, List<Rejection> rejections, long now) throws IOException {
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t == null) {
                throw parseError(p, "unexpected end of input inside the events array");
            }
            if (t != JsonToken.START_OBJECT) {
                int index = out.size() + rejections.size();
                checkCount(index);
                rejections.add(new Rejection(index, "", Rejection.WRONG_TYPE, "an event must be a JSON object, got " + describe(t)));
                p.skipChildren();
                continue;
            }
            parseEvent(p, out, rejections, now);
        }
    }

    private void checkCount(int index) {
        if (index >= limits.maxEvents()) {
            throw RequestException.tooLarge("too_many_events", "more than " + limits.maxEvents() + " events in one request");
        }
    }

    /** The parser is on the event's START_OBJECT; leaves it on its END_OBJECT. */
    private void parseEvent(JsonParser p, List<Parsed> out, List<Rejection> rejections, long now) throws IOException {
        int index = out.size() + rejections.size();
        checkCount(index);
        long start = p.currentTokenLocation().getByteOffset();
        Parsed e = new Parsed(index);
        Rejection bad = null;
        int seen = 0;
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            JsonToken v = p.nextToken();
            int bit = switch (f) {
                case "type" -> 1;
                case "ts" -> 2;
                case "dims" -> 4;
                case "measures" -> 8;
                case "unit_id" -> 16;
                case "experiments" -> 32;
                case "event_id" -> 64;
                default -> 0;
            };
            if (bad != null) {
                p.skipChildren();
                continue;
            }
            if (bit == 0) {
                bad = new Rejection(index, f, Rejection.UNKNOWN_FIELD,
                        "unknown field (expected type, ts, dims, measures, unit_id, experiments, event_id)");
                p.skipChildren();
                continue;
            }
            if ((seen & bit) != 0) {
                bad = new Rejection(index, f, Rejection.DUPLICATE_KEY, "field given twice");
                p.skipChildren();
                continue;
            }
            seen |= bit;
            bad = switch (bit) {
                case 1 -> {
                    if (v != JsonToken.VALUE_STRING) {
                        yield wrongType(p, "type", "a string", v);
                    }
                    e.type = p.getText();
                    yield names.typeName("type", e.type);
                }
                case 2 -> parseTs(p, v, e, now);
                case 4 -> parseStringMap(p, v, "dims", e, false, limits.maxDims());
                case 8 -> parseMeasures(p, v, e);
                case 16 -> {
                    if (v != JsonToken.VALUE_STRING) {
                        yield wrongType(p, "unit_id", "a string", v);
                    }
                    e.unitId = p.getText();
                    yield names.value("unit_id", e.unitId);
                }
                case 32 -> parseStringMap(p, v, "experiments", e, true, limits.maxExperiments());
                default -> {
                    if (v != JsonToken.VALUE_STRING) {
                        yield wrongType(p, "event_id", "a string", v);
                    }
                    e.eventId = p.getText();
                    yield names.value("event_id", e.eventId);
                }
            };
        }
        if (t != JsonToken.END_OBJECT) {
            throw parseError(p, "unexpected " + describe(t) + " inside an event");
        }
        long end = p.currentLocation().getByteOffset();
        if (bad == null && end - start > limits.maxEventBytes()) {
            bad = new Rejection(index, "", Rejection.TOO_LARGE, "event is " + (end - start) + " bytes of JSON, limit " + limits.maxEventBytes());
        }
        if (bad == null && (seen & 1) == 0) {
            bad = new Rejection(index, "type", Rejection.MISSING, "required field missing");
        }
        if (bad == null && (seen & 2) == 0) {
            bad = new Rejection(index, "ts", Rejection.MISSING, "required field missing (RFC 3339 string or epoch milliseconds)");
        }
        if (bad != null) {
            rejections.add(bad.withIndex(index));
        } else {
            out.add(e);
        }
    }

    private Rejection parseTs(JsonParser p, JsonToken v, Parsed e, long now) throws IOException {
        long ts;
        if (v == JsonToken.VALUE_NUMBER_INT) {
            JsonParser.NumberType nt = p.getNumberType();
            if (nt != JsonParser.NumberType.INT && nt != JsonParser.NumberType.LONG) {
                return new Rejection(0, "ts", Rejection.OUT_OF_WINDOW, "epoch milliseconds out of range");
            }
            ts = p.getLongValue();
        } else if (v == JsonToken.VALUE_STRING) {
            String s = p.getText();
            try {
                ts = OffsetDateTime.parse(s).toInstant().toEpochMilli();
            } catch (DateTimeParseException | ArithmeticException ex) {
                return new Rejection(0, "ts", Rejection.INVALID_VALUE, "not an RFC 3339 timestamp with offset: '" + clip(s) + "'");
            }
        } else {
            return wrongType(p, "ts", "an RFC 3339 string or integer epoch milliseconds", v);
        }
        if (ts > now + limits.maxFutureMillis()) {
            return new Rejection(0, "ts", Rejection.OUT_OF_WINDOW, "timestamp " + ts + " is more than "
                    + limits.maxFutureMillis() / 1000 + " s in the future");
        }
        if (ts < now - limits.maxAgeMillis()) {
            return new Rejection(0, "ts", Rejection.OUT_OF_WINDOW, "timestamp " + ts + " is older than "
                    + limits.maxAgeMillis() / 1000 + " s");
        }
        e.ts = ts;
        return null;
    }

    private Rejection parseStringMap(JsonParser p, JsonToken v, String field, Parsed e, boolean experimentKeys, int max)
            throws IOException {
        if (v != JsonToken.START_OBJECT) {
            return wrongType(p, field, "an object of strings", v);
        }
        Rejection bad = null;
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String k = p.currentName();
            JsonToken vt = p.nextToken();
            if (bad != null) {
                p.skipChildren();
                continue;
            }
            if (vt != JsonToken.VALUE_STRING) {
                bad = wrongType(p, field + "." + k, "a string", vt);
                continue;
            }
            bad = experimentKeys ? names.experimentId(field, k) : names.labelName(field, k);
            if (bad != null) {
                bad = prefixed(bad, field, k);
                continue;
            }
            String val = p.getText();
            bad = names.value(field, val);
            if (bad != null) {
                bad = prefixed(bad, field, k);
                continue;
            }
            int n = experimentKeys ? e.addExperiment(k, val) : e.addDim(k, val);
            if (n < 0) {
                bad = new Rejection(0, field + "." + k, Rejection.DUPLICATE_KEY, "key given twice");
            } else if (n > max) {
                bad = new Rejection(0, field, Rejection.TOO_MANY, "more than " + max + " entries");
            }
        }
        return bad;
    }

    /** Names checks get the map's field name; the rejection names {@code field.key} (built only when rejecting). */
    private static Rejection prefixed(Rejection r, String field, String key) {
        return new Rejection(r.index(), field + "." + key, r.reason(), r.message());
    }

    private Rejection parseMeasures(JsonParser p, JsonToken v, Parsed e) throws IOException {
        if (v != JsonToken.START_OBJECT) {
            return wrongType(p, "measures", "an object of numbers", v);
        }
        Rejection bad = null;
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String k = p.currentName();
            JsonToken vt = p.nextToken();
            if (bad != null) {
                p.skipChildren();
                continue;
            }
            if (vt != JsonToken.VALUE_NUMBER_INT && vt != JsonToken.VALUE_NUMBER_FLOAT) {
                bad = wrongType(p, "measures." + k, "a number", vt);
                continue;
            }
            bad = names.labelName("measures", k);
            if (bad != null) {
                bad = prefixed(bad, "measures", k);
                continue;
            }
            double d = p.getDoubleValue();
            int n;
            if (!Double.isFinite(d)) {
                bad = new Rejection(0, "measures." + k, Rejection.NOT_FINITE, "value must be a finite number, got " + p.getText());
            } else if ((n = e.addMeasure(k, d)) < 0) {
                bad = new Rejection(0, "measures." + k, Rejection.DUPLICATE_KEY, "key given twice");
            } else if (n > limits.maxMeasures()) {
                bad = new Rejection(0, "measures", Rejection.TOO_MANY, "more than " + limits.maxMeasures() + " entries");
            }
        }
        return bad;
    }

    private static Rejection wrongType(JsonParser p, String field, String expected, JsonToken got) throws IOException {
        p.skipChildren();
        return new Rejection(0, field, Rejection.WRONG_TYPE, "expected " + expected + ", got " + describe(got));
    }

    private static String describe(JsonToken t) {
        if (t == null) {
            return "end of input";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    private static String clip(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "..." : s;
    }

    private static RequestException parseError(JsonParser p, String message) {
        return position(p.currentTokenLocation(), "invalid_json", message);
    }

    static RequestException invalidJson(JsonProcessingException e) {
        String msg = dev.vigil.common.http.JsonProblems.message(e);
        // Jackson's UTF-8 decoder reports bytes that are not UTF-8 as a parse error: the documented code names them
        String code = msg.startsWith("Invalid UTF-8") ? "invalid_utf8" : "invalid_json";
        return position(e.getLocation(), code, msg);
    }

    static RequestException position(JsonLocation loc, String code, String message) {
        Map<String, Object> d = new LinkedHashMap<>();
        if (loc != null) {
            d.put("line", loc.getLineNr());
            d.put("column", loc.getColumnNr());
            d.put("offset", loc.getByteOffset());
        }
        String where = loc == null ? "" : " at line " + loc.getLineNr() + " column " + loc.getColumnNr() + " (byte " + loc.getByteOffset() + ")";
        return new RequestException(400, code, message + where, 0, d);
    }

    /** One valid event as parsed: small arrays kept sorted by name on insert (few entries per map). */
    static final class Parsed {
        private static final String[] NO_STRINGS = new String[0];
        private static final double[] NO_DOUBLES = new double[0];
        final int index;
        String type;
        long ts;
        String[] dimK = NO_STRINGS;
        String[] dimV = NO_STRINGS;
        int nDims;
        String[] measK = NO_STRINGS;
        double[] measV = NO_DOUBLES;
        int nMeas;
        String unitId;
        String[] expK = NO_STRINGS;
        String[] expV = NO_STRINGS;
        int nExp;
        String eventId;

        Parsed(int index) {
            this.index = index;
        }

        /** Insertion position of k among the first n keys (sorted as String.compareTo), or -1 if present. */
        private static int slot(String[] keys, int n, String k) {
            int i = n;
            while (i > 0) {
                int c = keys[i - 1].compareTo(k);
                if (c == 0) {
                    return -1;
                }
                if (c < 0) {
                    break;
                }
                i--;
            }
            return i;
        }

        /** Adds a dim; the new count, or -1 for a duplicate key. */
        int addDim(String k, String v) {
            int at = slot(dimK, nDims, k);
            if (at < 0) {
                return -1;
            }
            if (nDims == dimK.length) {
                int cap = Math.max(4, nDims * 2);
                dimK = Arrays.copyOf(dimK, cap);
                dimV = Arrays.copyOf(dimV, cap);
            }
            System.arraycopy(dimK, at, dimK, at + 1, nDims - at);
            System.arraycopy(dimV, at, dimV, at + 1, nDims - at);
            dimK[at] = k;
            dimV[at] = v;
            return ++nDims;
        }

        int addExperiment(String k, String v) {
            int at = slot(expK, nExp, k);
            if (at < 0) {
                return -1;
            }
            if (nExp == expK.length) {
                int cap = Math.max(4, nExp * 2);
                expK = Arrays.copyOf(expK, cap);
                expV = Arrays.copyOf(expV, cap);
            }
            System.arraycopy(expK, at, expK, at + 1, nExp - at);
            System.arraycopy(expV, at, expV, at + 1, nExp - at);
            expK[at] = k;
            expV[at] = v;
            return ++nExp;
        }

        int addMeasure(String k, double v) {
            int at = slot(measK, nMeas, k);
            if (at < 0) {
                return -1;
            }
            if (nMeas == measK.length) {
                int cap = Math.max(4, nMeas * 2);
                measK = Arrays.copyOf(measK, cap);
                measV = Arrays.copyOf(measV, cap);
            }
            System.arraycopy(measK, at, measK, at + 1, nMeas - at);
            System.arraycopy(measV, at, measV, at + 1, nMeas - at);
            measK[at] = k;
            measV[at] = v;
            return ++nMeas;
        }

        String eventId(String batchId) {
            return eventId != null ? eventId : batchId != null ? batchId + "#" + index : null;
        }

        Event toEvent(String tenant, String batchId, long now) {
            TreeMap<String, String> dims = new TreeMap<>();
            for (int i = 0; i < nDims; i++) {
                dims.put(dimK[i], dimV[i]);
            }
            TreeMap<String, Double> measures = new TreeMap<>();
            for (int i = 0; i < nMeas; i++) {
                measures.put(measK[i], measV[i]);
            }
            TreeMap<String, String> exps = new TreeMap<>();
            for (int i = 0; i < nExp; i++) {
                exps.put(expK[i], expV[i]);
            }
            return new Event(tenant, ts, type, dims, measures, unitId, exps, eventId(batchId), now);
        }

        /** Encodes into w exactly as RecordCodec.encode(toEvent(...)) and Event.seriesKey() would. */
        void encode(EventRecordWriter w, String tenant, byte[] batchIdUtf8, long now) {
            w.begin(tenant, ts, type, nDims);
            for (int i = 0; i < nDims; i++) {
                w.dim(dimK[i], dimV[i]);
            }
            w.measuresHeader(nMeas);
            for (int i = 0; i < nMeas; i++) {
                w.measure(measK[i], measV[i]);
            }
            w.unit(unitId);
            w.experimentsHeader(nExp);
            for (int i = 0; i < nExp; i++) {
                w.experiment(expK[i], expV[i]);
            }
            if (eventId != null) {
                w.eventId(eventId);
            } else if (batchIdUtf8 != null) {
                w.derivedEventId(batchIdUtf8, index);
            } else {
                w.eventId(null);
            }
            w.end(now);
        }
    }
}
