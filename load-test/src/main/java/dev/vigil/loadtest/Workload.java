package dev.vigil.loadtest;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;

/**
 * Generates events of the configured mix, as structured {@link Ev}s that serialise to JSON (for
 * /v1/events) or to an OTLP LogRecord (for /v1/logs), so the loss ledger knows exactly which
 * series and measure values each event carries.
 *
 * <ul>
 *   <li>{@code inference}: model inference traffic for several models/versions/regions; the score
 *       of fraud/v2 drifts from 0.30 to 0.70 over the run (a planted drift); latency log-normal; 1% errors.</li>
 *   <li>{@code experiment}: exposures and purchases with two experiments: {@code exp-42}
 *       (treatment purchases 5% larger: a planted effect) and {@code exp-aa} (A/A control).</li>
 *   <li>{@code burst}: a cardinality burst, a unique {@code session} dim per event.</li>
 *   <li>{@code mixed}: 60% inference, 35% experiment, 5% burst.</li>
 *   <li>{@code accounting}: 70% inference, 30% experiment (no burst, so every series stays under the
 *       aggregator's series limits and can be compared one by one).</li>
 *   <li>{@code demo}: inference for a few models, plus experiments {@code exp-checkout} (purchases,
 *       +5% amount in treatment), {@code exp-latency} (variant {@code treatment} of the ranker is
 *       30% slower: a real latency regression) and {@code exp-aa} (A/A).</li>
 * </ul>
 * A share of invalid events ({@code invalidShare}) is mixed in, of several kinds.
 *
 * <p>With {@code quantize}, every measure value is a multiple of 1/64 (exactly representable, so sums
 * are exact in any order and the loss check can compare sums with ==), and every event carries
 * the dim {@code run} so one run's series are told apart from any other data of the tenant.
 */
final class Workload {
    static final String[] MODELS = {"ranker", "recommender", "fraud"};
    static final String[] VERSIONS = {"v1", "v2"};
    static final String[] REGIONS = {"eu-west", "us-east", "ap-south"};

    /** One generated event. {@code invalid} events are expected to be rejected by the gateway. */
    record Ev(String type, long ts, Map<String, String> dims, Map<String, Double> measures, String unit,
              Map<String, String> experiments, boolean invalid, String rawJson) {
        /** The series (type + sorted dims) the aggregator rolls this event into. */
        String seriesKey() {
            StringBuilder sb = new StringBuilder(type);
            for (Map.Entry<String, String> e : new TreeMap<>(dims).entrySet()) {
                sb.append('\u0000').append(e.getKey()).append('=').append(e.getValue());
            }
            return sb.toString();
        }

        String json() {
            if (rawJson != null) {
                return rawJson;
            }
            StringBuilder sb = new StringBuilder(220);
            sb.append("{\"type\":\"").append(type).append("\",\"ts\":").append(ts);
            if (!dims.isEmpty()) {
                sb.append(",\"dims\":");
                obj(sb, dims);
            }
            if (!measures.isEmpty()) {
                sb.append(",\"measures\":{");
                boolean first = true;
                for (Map.Entry<String, Double> e : measures.entrySet()) {
                    sb.append(first ? "" : ",").append('"').append(e.getKey()).append("\":").append(num(e.getValue()));
                    first = false;
                }
                sb.append('}');
            }
            if (experiments != null && !experiments.isEmpty()) {
                sb.append(",\"experiments\":");
                obj(sb, experiments);
            }
            if (unit != null) {
                sb.append(",\"unit_id\":\"").append(unit).append('"');
            }
            return sb.append('}').toString();
        }

        LogRecord otlp(String eventId) {
            LogRecord.Builder b = LogRecord.newBuilder().setTimeUnixNano(ts * 1_000_000L).setEventName(type);
            dims.forEach((k, v) -> b.addAttributes(str(k, v)));
            measures.forEach((k, v) -> b.addAttributes(dbl(k, v)));
            if (unit != null) {
                b.addAttributes(str("vigil.unit_id", unit));
            }
            if (experiments != null) {
                experiments.forEach((k, v) -> b.addAttributes(str("vigil.experiment." + k, v)));
            }
            if (eventId != null) {
                b.addAttributes(str("vigil.event_id", eventId));
            }
            return b.build();
        }

        private static void obj(StringBuilder sb, Map<String, String> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, String> e : m.entrySet()) {
                sb.append(first ? "" : ",").append('"').append(e.getKey()).append("\":\"").append(e.getValue()).append('"');
                first = false;
            }
            sb.append('}');
        }

        private static String num(double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
        }
    }

    private final String mix;
    private final double invalidShare;
    private final long startMillis;
    private final long durationMillis;
    private final Random rnd;
    private final boolean quantize;
    private final String run;
    private long burstSeq;

    Workload(String mix, double invalidShare, long startMillis, long durationMillis, long seed) {
        this(mix, invalidShare, startMillis, durationMillis, seed, false, null);
    }

    Workload(String mix, double invalidShare, long startMillis, long durationMillis, long seed, boolean quantize, String run) {
        this.mix = mix;
        this.invalidShare = invalidShare;
        this.startMillis = startMillis;
        this.durationMillis = Math.max(1, durationMillis);
        this.rnd = new Random(seed);
        this.quantize = quantize;
        this.run = run;
    }

    /** One event as JSON (no trailing comma). */
    String json(long now) {
        return next(now).json();
    }

    /** The next event of the mix. */
    Ev next(long now) {
        if (invalidShare > 0 && rnd.nextDouble() < invalidShare) {
            return invalid(now);
        }
        return switch (pick()) {
            case "experiment" -> experiment(now);
            case "burst" -> burst(now);
            case "demo" -> demo(now);
            default -> inference(now);
        };
    }

    private String pick() {
        double r;
        switch (mix) {
            case "mixed":
                r = rnd.nextDouble();
                return r < 0.60 ? "inference" : r < 0.95 ? "experiment" : "burst";
            case "accounting":
                return rnd.nextDouble() < 0.7 ? "inference" : "experiment";
            default:
                return mix;
        }
    }

    private double drift(long now) {
        return Math.min(1.0, Math.max(0, (now - startMillis) / (double) durationMillis));
    }

    private double q(double d) {
        return quantize ? Math.round(d * 64) / 64.0 : Math.round(d * 1000) / 1000.0;
    }

    private Map<String, String> dims(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        if (run != null) {
            m.put("run", run);
        }
        return m;
    }

    private Ev inference(long now) {
        String model = MODELS[rnd.nextInt(MODELS.length)];
        String version = VERSIONS[rnd.nextInt(VERSIONS.length)];
        double base = model.equals("fraud") && version.equals("v2") ? 0.30 + 0.4 * drift(now) : 0.5;
        double score = Math.max(0, Math.min(1, base + rnd.nextGaussian() * 0.1));
        Map<String, Double> ms = new LinkedHashMap<>();
        ms.put("latency_ms", q(Math.exp(2.5 + rnd.nextGaussian() * 0.5)));
        ms.put("score", q(score));
        ms.put("error", rnd.nextDouble() < 0.01 ? 1.0 : 0.0);
        return new Ev("inference", now, dims("model", model, "version", version, "region", REGIONS[rnd.nextInt(REGIONS.length)]), ms,
                "user-" + rnd.nextInt(1_000_000), null, false, null);
    }

    private Ev experiment(long now) {
        int user = rnd.nextInt(200_000);
        String v42 = (user % 2 == 0) ? "control" : "treatment";
        String vaa = (user / 2 % 2 == 0) ? "a1" : "a2";
        Map<String, String> exps = new LinkedHashMap<>();
        exps.put("exp-42", v42);
        exps.put("exp-aa", vaa);
        if (rnd.nextDouble() >= 0.3) {
            return new Ev("exposure", now, dims("surface", "home"), Map.of(), "user-" + user, exps, false, null);
        }
        double amount = Math.exp(3 + rnd.nextGaussian() * 0.4) * (v42.equals("treatment") ? 1.05 : 1.0);
        return new Ev("purchase", now, dims("surface", "home"), Map.of("amount", q(amount)), "user-" + user, exps, false, null);
    }

    private Ev burst(long now) {
        return new Ev("inference", now, dims("model", "ranker", "version", "v1", "session", "s-" + (burstSeq++)),
                Map.of("latency_ms", q(Math.exp(2 + rnd.nextGaussian() * 0.3))), null, null, false, null);
    }

    /** Demo traffic: a few models, and three experiments (checkout effect, latency regression, A/A). */
    private Ev demo(long now) {
        int user = rnd.nextInt(20_000);
        String vLat = (Integer.hashCode(user * 31 + 7) & 1) == 0 ? "control" : "treatment";
        String vAa = ((user / 3) & 1) == 0 ? "a1" : "a2";
        String vChk = ((user / 7) & 1) == 0 ? "control" : "treatment";
        double r = rnd.nextDouble();
        if (r < 0.55) {
            String model = MODELS[rnd.nextInt(MODELS.length)];
            String version = model.equals("fraud") ? (rnd.nextDouble() < 0.8 ? "v1" : "v2") : VERSIONS[rnd.nextInt(VERSIONS.length)];
            double lat = Math.exp(2.5 + rnd.nextGaussian() * 0.4);
            Map<String, String> exps = new LinkedHashMap<>();
            if (model.equals("ranker")) {
                exps.put("exp-latency", vLat);
                if (vLat.equals("treatment")) {
                    lat *= 1.3; // the planted regression
                }
            }
            exps.put("exp-aa", vAa);
            // the fraud v2 score drifts slowly (a 30-minute sine), so drift panels move
            double base = model.equals("fraud") && version.equals("v2") ? 0.5 + 0.2 * Math.sin(now / 300_000.0) : 0.5;
            Map<String, Double> ms = new LinkedHashMap<>();
            ms.put("latency_ms", q(lat));
            ms.put("score", q(Math.max(0, Math.min(1, base + rnd.nextGaussian() * 0.1))));
            ms.put("error", rnd.nextDouble() < (model.equals("recommender") && version.equals("v2") ? 0.03 : 0.005) ? 1.0 : 0.0);
            return new Ev("inference", now, dims("model", model, "version", version, "region", REGIONS[rnd.nextInt(REGIONS.length)]), ms,
                    "user-" + user, exps, false, null);
        }
        Map<String, String> exps = new LinkedHashMap<>();
        exps.put("exp-checkout", vChk);
        exps.put("exp-aa", vAa);
        if (r < 0.85) {
            return new Ev("exposure", now, dims("surface", "checkout"), Map.of(), "user-" + user, exps, false, null);
        }
        double amount = Math.exp(3 + rnd.nextGaussian() * 0.4) * (vChk.equals("treatment") ? 1.05 : 1.0);
        return new Ev("purchase", now, dims("surface", "checkout"), Map.of("amount", q(amount)), "user-" + user, exps, false, null);
    }

    private Ev invalid(long now) {
        String raw = switch (rnd.nextInt(5)) {
            case 0 -> "{\"type\":\"inference\",\"ts\":" + now + ",\"measures\":{\"score\":\"high\"}}";
            case 1 -> "{\"ts\":" + now + ",\"dims\":{\"model\":\"ranker\"}}";
            case 2 -> "{\"type\":\"inference\",\"ts\":" + (now + 86_400_000L * 30) + "}";
            case 3 -> "{\"type\":\"bad type\",\"ts\":" + now + "}";
            default -> "{\"type\":\"inference\",\"ts\":" + now + ",\"dims\":{\"model-name\":\"x\"}}";
        };
        // OTLP form: a far-future timestamp (the only invalid kind expressible as a log record)
        return new Ev("inference", now + 86_400_000L * 30, dims("model", "ranker"), Map.of(), null, null, true, raw);
    }

    /** Legacy: an inference event as an OTLP log record. */
    LogRecord otlp(long now) {
        Ev e = next(now);
        return e.otlp(null);
    }

    static KeyValue str(String k, String v) {
        return KeyValue.newBuilder().setKey(k).setValue(AnyValue.newBuilder().setStringValue(v)).build();
    }

    static KeyValue dbl(String k, double v) {
        return KeyValue.newBuilder().setKey(k).setValue(AnyValue.newBuilder().setDoubleValue(v)).build();
    }

    static double round(double d) {
        return Math.round(d * 1000) / 1000.0;
    }
}
