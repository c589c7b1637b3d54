package dev.vigil.loadtest;

import java.util.Random;

import com.google.protobuf.ByteString;

import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;

/**
 * Generates events of the configured mix. Each event is produced both as JSON text (for
 * /v1/events) and, for the OTLP protocol, as an OTLP LogRecord.
 *
 * <ul>
 *   <li>{@code inference}: model inference traffic for several models/versions; scores drift
 *       over the run for fraud/v2 (a planted drift); latency log-normal; 1% errors.</li>
 *   <li>{@code experiment}: exposures and purchases with two experiments: {@code exp-42}
 *       (treatment purchases 5% larger: a planted effect) and {@code exp-aa} (A/A control).</li>
 *   <li>{@code burst}: a cardinality burst, a unique {@code session} dim per event.</li>
 *   <li>{@code mixed}: 60% inference, 35% experiment, 5% burst.</li>
 * </ul>
 * A share of invalid events ({@code invalidShare}) is mixed in, of several kinds.
 */
final class Workload {
    static final String[] MODELS = {"ranker", "recommender", "fraud"};
    static final String[] VERSIONS = {"v1", "v2"};
    static final String[] REGIONS = {"eu-west", "us-east", "ap-south"};

    private final String mix;
    private final double invalidShare;
    private final long startMillis;
    private final long durationMillis;
    private final Random rnd;
    private long burstSeq;

    Workload(String mix, double invalidShare, long startMillis, long durationMillis, long seed) {
        this.mix = mix;
        this.invalidShare = invalidShare;
        this.startMillis = startMillis;
        this.durationMillis = Math.max(1, durationMillis);
        this.rnd = new Random(seed);
    }

    /** One event as JSON (no trailing comma). */
    String json(long now) {
        if (invalidShare > 0 && rnd.nextDouble() < invalidShare) {
            return invalid(now);
        }
        String kind = pick();
        return switch (kind) {
            case "experiment" -> experiment(now);
            case "burst" -> burst(now);
            default -> inference(now);
        };
    }

    private String pick() {
        if (!mix.equals("mixed")) {
            return mix;
        }
        double r = rnd.nextDouble();
        return r < 0.60 ? "inference" : r < 0.95 ? "experiment" : "burst";
    }

    private double drift(long now) {
        return Math.min(1.0, (now - startMillis) / (double) durationMillis);
    }

    private String inference(long now) {
        String model = MODELS[rnd.nextInt(MODELS.length)];
        String version = VERSIONS[rnd.nextInt(VERSIONS.length)];
        double base = model.equals("fraud") && version.equals("v2") ? 0.30 + 0.4 * drift(now) : 0.5;
        double score = Math.max(0, Math.min(1, base + rnd.nextGaussian() * 0.1));
        double latency = Math.exp(2.5 + rnd.nextGaussian() * 0.5);
        int error = rnd.nextDouble() < 0.01 ? 1 : 0;
        return "{\"type\":\"inference\",\"ts\":" + now + ",\"dims\":{\"model\":\"" + model + "\",\"version\":\"" + version
                + "\",\"region\":\"" + REGIONS[rnd.nextInt(REGIONS.length)] + "\"},\"measures\":{\"latency_ms\":"
                + round(latency) + ",\"score\":" + round(score) + ",\"error\":" + error + "},\"unit_id\":\"user-"
                + rnd.nextInt(1_000_000) + "\"}";
    }

    private String experiment(long now) {
        int user = rnd.nextInt(200_000);
        String v42 = (user % 2 == 0) ? "control" : "treatment";
        String vaa = (user / 2 % 2 == 0) ? "a1" : "a2";
        boolean purchase = rnd.nextDouble() < 0.3;
        String exps = "\"experiments\":{\"exp-42\":\"" + v42 + "\",\"exp-aa\":\"" + vaa + "\"}";
        if (!purchase) {
            return "{\"type\":\"exposure\",\"ts\":" + now + ",\"dims\":{\"surface\":\"home\"}," + exps + ",\"unit_id\":\"user-" + user + "\"}";
        }
        double amount = Math.exp(3 + rnd.nextGaussian() * 0.4) * (v42.equals("treatment") ? 1.05 : 1.0);
        return "{\"type\":\"purchase\",\"ts\":" + now + ",\"dims\":{\"surface\":\"home\"},\"measures\":{\"amount\":" + round(amount)
                + "}," + exps + ",\"unit_id\":\"user-" + user + "\"}";
    }

    private String burst(long now) {
        return "{\"type\":\"inference\",\"ts\":" + now + ",\"dims\":{\"model\":\"ranker\",\"version\":\"v1\",\"session\":\"s-"
                + (burstSeq++) + "\"},\"measures\":{\"latency_ms\":" + round(Math.exp(2 + rnd.nextGaussian() * 0.3)) + "}}";
    }

    private String invalid(long now) {
        return switch (rnd.nextInt(5)) {
            case 0 -> "{\"type\":\"inference\",\"ts\":" + now + ",\"measures\":{\"score\":\"high\"}}";
            case 1 -> "{\"ts\":" + now + ",\"dims\":{\"model\":\"ranker\"}}";
            case 2 -> "{\"type\":\"inference\",\"ts\":" + (now + 86_400_000L * 30) + "}";
            case 3 -> "{\"type\":\"bad type\",\"ts\":" + now + "}";
            default -> "{\"type\":\"inference\",\"ts\":" + now + ",\"dims\":{\"model-name\":\"x\"}}";
        };
    }

    /** The same event as an OTLP log record (type as event_name, dims/measures as attributes). */
    LogRecord otlp(long now) {
        String model = MODELS[rnd.nextInt(MODELS.length)];
        String version = VERSIONS[rnd.nextInt(VERSIONS.length)];
        double base = model.equals("fraud") && version.equals("v2") ? 0.30 + 0.4 * drift(now) : 0.5;
        LogRecord.Builder b = LogRecord.newBuilder().setTimeUnixNano(now * 1_000_000L).setEventName("inference")
                .addAttributes(str("model", model)).addAttributes(str("version", version))
                .addAttributes(str("region", REGIONS[rnd.nextInt(REGIONS.length)]))
                .addAttributes(dbl("latency_ms", round(Math.exp(2.5 + rnd.nextGaussian() * 0.5))))
                .addAttributes(dbl("score", round(Math.max(0, Math.min(1, base + rnd.nextGaussian() * 0.1)))))
                .addAttributes(str("vigil.unit_id", "user-" + rnd.nextInt(1_000_000)));
        if (invalidShare > 0 && rnd.nextDouble() < invalidShare) {
            b.setTimeUnixNano((now + 86_400_000L * 30) * 1_000_000L);
        }
        return b.build();
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

    static ByteString unused() {
        return ByteString.EMPTY;
    }
}
