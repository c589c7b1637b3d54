package dev.vigil.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;

import dev.vigil.common.model.Event;

/**
 * Streaming parser of the {@code /v1/events} body (JSON batch or NDJSON) straight from the
 * (decompressing, capped) input stream: no tree model, one pass, per-event validation. A body
 * that is not valid JSON fails as a whole with its position; an event that is valid JSON but
 * breaks a rule is rejected alone with index, field and reason.
 */
public final class EventJsonParser {
    /** The outcome of parsing one request. */
    public record Result(List<Event> events, List<Rejection> rejections, int total, String batchId) {
    }

    private final GatewayConfig.Limits limits;
    private final Names names;
    private final JsonFactory factory;

    public EventJsonParser(GatewayConfig.Limits limits) {
        this.limits = limits;
        this.names = new Names(limits.maxNameLength(), limits.maxValueLength());
        this.factory = JsonFactory.builder()
                // NaN / Infinity tokens parse, so they are rejected per event as not_finite rather than failing the body.
                .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
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
        List<Parsed> parsed = new ArrayList<>();
        List<Rejection> rejections = new ArrayList<>();
        String batchId = null;
        try (JsonParser p = factory.createParser(in)) {
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
        List<Event> events = new ArrayList<>(parsed.size());
        for (Parsed e : parsed) {
            String id = e.eventId != null ? e.eventId : batchId != null ? batchId + "#" + e.index : null;
            events.add(new Event(tenant, e.ts, e.type, e.dims, e.measures, e.unitId, e.experiments, id, nowMillis));
        }
        return new Result(events, rejections, parsed.size() + rejections.size(), batchId);
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
                case 4 -> parseStringMap(p, v, "dims", e.dims, limits.maxDims(), false);
                case 8 -> parseMeasures(p, v, e);
                case 16 -> {
                    if (v != JsonToken.VALUE_STRING) {
                        yield wrongType(p, "unit_id", "a string", v);
                    }
                    e.unitId = p.getText();
                    yield names.value("unit_id", e.unitId);
                }
                case 32 -> parseStringMap(p, v, "experiments", e.experiments, limits.maxExperiments(), true);
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

    private Rejection parseStringMap(JsonParser p, JsonToken v, String field, SortedMap<String, String> into, int max,
                                     boolean experimentKeys) throws IOException {
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
            String f = field + "." + k;
            if (vt != JsonToken.VALUE_STRING) {
                bad = wrongType(p, f, "a string", vt);
                continue;
            }
            bad = experimentKeys ? names.experimentId(f, k) : names.labelName(f, k);
            if (bad == null) {
                bad = names.value(f, p.getText());
            }
            if (bad == null && into.put(k, p.getText()) != null) {
                bad = new Rejection(0, f, Rejection.DUPLICATE_KEY, "key given twice");
            }
            if (bad == null && into.size() > max) {
                bad = new Rejection(0, field, Rejection.TOO_MANY, "more than " + max + " entries");
            }
        }
        return bad;
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
            String f = "measures." + k;
            if (vt != JsonToken.VALUE_NUMBER_INT && vt != JsonToken.VALUE_NUMBER_FLOAT) {
                bad = wrongType(p, f, "a number", vt);
                continue;
            }
            bad = names.labelName(f, k);
            if (bad != null) {
                continue;
            }
            double d = p.getDoubleValue();
            if (!Double.isFinite(d)) {
                bad = new Rejection(0, f, Rejection.NOT_FINITE, "value must be a finite number, got " + p.getText());
            } else if (e.measures.put(k, d) != null) {
                bad = new Rejection(0, f, Rejection.DUPLICATE_KEY, "key given twice");
            } else if (e.measures.size() > limits.maxMeasures()) {
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
        String msg = e.getOriginalMessage();
        return position(e.getLocation(), "invalid_json", msg == null ? e.toString() : msg);
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

    private static final class Parsed {
        final int index;
        String type;
        long ts;
        final SortedMap<String, String> dims = new TreeMap<>();
        final SortedMap<String, Double> measures = new TreeMap<>();
        String unitId;
        final SortedMap<String, String> experiments = new TreeMap<>();
        String eventId;

        Parsed(int index) {
            this.index = index;
        }
    }
}
