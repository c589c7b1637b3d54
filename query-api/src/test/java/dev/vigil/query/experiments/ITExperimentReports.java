package dev.vigil.query.experiments;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.vigil.guardrails.ProportionSums;
import dev.vigil.guardrails.QuantileSums;
import dev.vigil.guardrails.RatioSums;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.storage.SelectHints;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;

/** Registry, pushdown and reports against real ClickHouse (embedded chDB). */
class ITExperimentReports {
    static final String T = "acme";
    // rows older than the tables' TTL are dropped on insert, so the data is placed relative to today
    static final Instant START = java.time.LocalDate.now(ZoneOffset.UTC).minusDays(4).atStartOfDay(ZoneOffset.UTC).toInstant();
    static final Instant NOW = START.plus(java.time.Duration.ofHours(4 * 24 + 12));
    static JdbcDataSource ds;
    static ExperimentsModule module;

    static String definition(String guardrailKind) {
        return """
                {"variants":[{"id":"control","allocation":0.5,"control":true},{"id":"treatment","allocation":0.5,"control":false}],
                 "start":"%1$s","end":"%2$s","randomisationUnit":"user_id",
                 "successMetrics":[{"metricId":"purchase","kind":"PROPORTION","goodDirection":"INCREASE","cuped":false}],
                 "guardrailMetrics":[
                   {"metricId":"inference.latency_ms","kind":"%3$s","harmDirection":"INCREASE","margin":{"type":"RELATIVE","value":0.05},"cuped":true},
                   {"metricId":"errors","kind":"RATIO","harmDirection":"INCREASE","margin":{"type":"ABSOLUTE","value":0.02},"cuped":false},
                   {"metricId":"p99","kind":"QUANTILE","quantile":0.99,"harmDirection":"INCREASE","margin":{"type":"RELATIVE","value":0.1},"cuped":false}],
                 "prePeriod":{"start":"%4$s","end":"%1$s"},
                 "sources":{"errors":{"type":"inference","measure":"error","value":"sum","denominator":{"type":"inference","value":"count"}},
                            "p99":{"type":"inference","measure":"latency_ms"}}}
                """.formatted(START, START.plus(java.time.Duration.ofDays(14)), guardrailKind, START.minus(java.time.Duration.ofDays(14)));
    }

    @BeforeAll
    static void setUp() throws Exception {
        ds = SchemaFixture.freshDatabase("it_exp");
        module = new ExperimentsModule(ds, Clock.fixed(NOW, ZoneOffset.UTC));
        ExperimentData d = new ExperimentData(ds);
        ExperimentData.demo(d, T, "regression", START, 2000, 1.25, 1);
        ExperimentData.demo(d, T, "aa", START, 2000, 1.0, 2);
        // exposed units with no events of a metric count as 0; events of never-exposed units (no assignment) are not attributed
        d.exposure(T, "aa", "control", "silent-1", START, START, 1);
        d.exposure(T, "aa", "treatment", "silent-2", START, START, 1);
        d.unassignedEvents(T, "inference", "never-exposed", LocalDate.ofInstant(START, ZoneOffset.UTC).plusDays(1),
                new String[]{"latency_ms", "error"}, new double[][]{{1e6}, {1}});
        // another tenant's rows must not leak
        ExperimentData.demo(d, "other", "aa", START, 50, 3.0, 3);
        d.flush();
        put("regression", definition("RATIO"));
        put("aa", definition("RATIO"));
    }

    static JsonNode call(HttpMethod m, String uri, String body) throws Exception {
        var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, m, uri,
                body == null ? Unpooled.EMPTY_BUFFER : Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        FullHttpResponse resp = module.handle(req, uri, T);
        JsonNode n = ExperimentJson.MAPPER.readTree(resp.content().toString(StandardCharsets.UTF_8));
        ((com.fasterxml.jackson.databind.JsonNode) n).size();
        if (resp.status().code() >= 300) System.out.println(uri + " -> " + resp.status() + " " + n);
        return n;
    }

    static JsonNode put(String id, String body) throws Exception {
        return call(HttpMethod.PUT, "/api/v1/experiments/" + id, body);
    }

    @Test
    void regressionInTreatmentLatencyFailsTheGuardrail() throws Exception {
        JsonNode r = call(HttpMethod.GET, "/api/v1/experiments/regression/report", null);
        assertThat(r.path("status").asText()).isEqualTo("success");
        JsonNode data = r.path("data");
        assertThat(data.path("definitionVersion").asLong()).isEqualTo(1);
        assertThat(data.path("report").path("definitionVersion").asLong()).isEqualTo(1);
        JsonNode latency = metric(data, "inference.latency_ms");
        assertThat(latency.path("guardrail").path("status").asText()).isEqualTo("FAIL");
        assertThat(latency.path("relative").path("estimate").asDouble()).isBetween(0.15, 0.35);
        assertThat(data.path("report").path("decision").asText()).isEqualTo("DO_NOT_SHIP");
        assertThat(data.path("report").path("srm").path("flagged").asBoolean()).isFalse();
        assertThat(data.path("report").path("reasons").toString()).contains("inference.latency_ms");
        // p99 latency up 25 % against a 10 % margin
        JsonNode p99 = metric(data, "p99");
        System.out.println("regression p99: " + p99.path("relative") + " " + p99.path("guardrail"));
        assertThat(p99.path("relative").path("estimate").asDouble()).isBetween(0.1, 0.4);
        assertThat(p99.path("guardrail").path("status").asText()).isEqualTo("FAIL");
        System.out.println("regression report reasons: " + data.path("report").path("reasons"));
        System.out.println("compute ms: " + data.path("computeMillis"));
    }

    @Test
    void aaExperimentDoesNotFail() throws Exception {
        JsonNode data = call(HttpMethod.GET, "/api/v1/experiments/aa/report", null).path("data");
        for (JsonNode m : data.path("report").path("metrics"))
            if (!m.path("guardrail").isMissingNode() && !m.path("guardrail").isNull())
                assertThat(m.path("guardrail").path("status").asText()).as(m.path("metricId").asText()).isNotEqualTo("FAIL");
        assertThat(metric(data, "inference.latency_ms").path("guardrail").path("status").asText()).isIn("PASS", "INCONCLUSIVE");
        assertThat(data.path("report").path("decision").asText()).isNotEqualTo("DO_NOT_SHIP");
        // the quantile guardrail is computed (per-unit histograms) and passes or is inconclusive
        assertThat(data.path("unavailable").toString()).doesNotContain("p99").doesNotContain("cuped").doesNotContain("retention");
        assertThat(metric(data, "p99").path("guardrail").path("status").asText()).isIn("PASS", "INCONCLUSIVE");
        // CUPED with the pre-period (events before exposure, vigil_unit_daily) reduces the variance of the latency metric
        JsonNode cuped = metric(data, "inference.latency_ms").path("cuped");
        System.out.println("aa latency CUPED: " + cuped);
        assertThat(cuped.path("varianceReduction").asDouble()).isBetween(0.2, 1.0);
    }

    /** An experiment that began before the tables' retention (400 days here): the report says what it no longer counts. */
    @Test
    void aReportOverDaysPastTheRetentionSaysSo() throws Exception {
        Instant old = NOW.minus(java.time.Duration.ofDays(500));
        String def = """
                {"variants":[{"id":"control","allocation":0.5,"control":true},{"id":"treatment","allocation":0.5,"control":false}],
                 "start":"%s","end":"%s","randomisationUnit":"user_id",
                 "successMetrics":[{"metricId":"purchase","kind":"PROPORTION","goodDirection":"INCREASE","cuped":false}],
                 "guardrailMetrics":[{"metricId":"inference.latency_ms","kind":"RATIO","harmDirection":"INCREASE","margin":{"type":"RELATIVE","value":0.05},"cuped":false}]}
                """.formatted(old, NOW.plus(java.time.Duration.ofDays(1)));
        assertThat(call(HttpMethod.PUT, "/api/v1/experiments/long-ago", def).path("status").asText()).isEqualTo("success");
        JsonNode unavailable = call(HttpMethod.GET, "/api/v1/experiments/long-ago/report", null).path("data").path("unavailable");
        String cutoff = NOW.minus(java.time.Duration.ofDays(400)).atZone(ZoneOffset.UTC).toLocalDate().toString();
        assertThat(unavailable.toString()).contains("\"what\":\"retention\"").contains("keep 400 days").contains("days before " + cutoff);
        // one that began within it: nothing said
        assertThat(ExperimentStats.beyondRetention(module.registry().get(T, "aa").definition(), NOW, java.time.Duration.ofDays(400))).isNull();
        assertThat(ExperimentStats.beyondRetention(module.registry().get(T, "aa").definition(), NOW, java.time.Duration.ofDays(2)))
                .as("the aa experiment began 4 days before NOW, its pre-period 14 days before that").isNotNull();
        assertThat(call(HttpMethod.DELETE, "/api/v1/experiments/long-ago", null).path("status").asText()).isEqualTo("success");
    }

    @Test
    void pushdownSumsMatchARecomputationInJava() throws Exception {
        ExperimentSpec spec = module.registry().get(T, "aa");
        var res = new ExperimentStats(ds).compute(T, spec, NOW);
        var obs = res.observation();
        assertThat(obs.assignedUnits()).isEqualTo(Map.of("control", 2001L, "treatment", 2001L));
        // recompute from the rows in ClickHouse per unit, the naive way, for the treatment arm
        var lat = (RatioSums) obs.metrics().get("inference.latency_ms").get("treatment");
        double[] naive = naiveRatio("aa", "treatment");
        assertThat(lat.units()).isEqualTo(2001);
        assertThat(lat.sumNum()).isCloseTo(naive[0], within(1e-6 * naive[0]));
        assertThat(lat.sumNumSq()).isCloseTo(naive[1], within(1e-6 * naive[1]));
        assertThat(lat.sumDen()).isCloseTo(naive[2], within(1e-9));
        assertThat(lat.sumDenSq()).isCloseTo(naive[3], within(1e-9));
        assertThat(lat.sumNumDen()).isCloseTo(naive[4], within(1e-6 * naive[4]));
        var purchase = (ProportionSums) obs.metrics().get("purchase").get("control");
        assertThat(purchase.unitsWithEvent()).isBetween(120L, 280L);
        // CUPED covariate: each treatment unit's latency total before exposure, from vigil_unit_daily
        assertThat(lat.pre()).isNotNull();
        double naivePre = scalar("SELECT sum(sum) FROM vigil_unit_daily WHERE tenant = 'acme' AND type = 'inference' AND measure = 'latency_ms' "
                + "AND day < '" + LocalDate.ofInstant(START, ZoneOffset.UTC) + "' AND unit_id IN (SELECT unit_id FROM vigil_exposures "
                + "WHERE tenant = 'acme' AND experiment = 'aa' AND variant = 'treatment')");
        assertThat(lat.pre().sumPreNum()).isCloseTo(naivePre, within(1e-6 * naivePre));
        // quantile: the histogram holds every latency event of the arm
        var p99 = (QuantileSums) obs.metrics().get("p99").get("treatment");
        assertThat(p99.units()).isEqualTo(2001);
        assertThat(p99.sumEvents()).isEqualTo(naive[2]);
        assertThat(java.util.Arrays.stream(p99.bucketCounts()).sum()).isEqualTo((long) naive[2]);
    }

    @Test
    void quantileSumsAreTheSameWithSharedAndPerGroupThresholds() throws Exception {
        Map<String, Long> units = Map.of("control", 2001L, "treatment", 2001L);
        Map<String, Double> sq = Map.of("control", 0., "treatment", 0.);
        List<Map<String, QuantileSums>> got = new java.util.ArrayList<>();
        for (int maxShared : new int[] {QuantilePushdown.MAX_SHARED_THRESHOLDS, 0}) {
            new QuantilePushdown(ds, maxShared).compute(T, List.of(
                    new QuantilePushdown.Request("aa", "inference", "latency_ms", 0.99, () -> units, () -> sq, got::add),
                    new QuantilePushdown.Request("regression", "inference", "latency_ms", 0.5, () -> units, () -> sq, r -> { })));
        }
        for (String v : units.keySet()) {
            QuantileSums a = got.get(0).get(v), b = got.get(1).get(v);
            assertThat(b.bucketCounts()).isEqualTo(a.bucketCounts());
            // Arrays.equals treats NaN (positions the estimator does not read) as equal to NaN
            assertThat(java.util.Arrays.equals(b.sumBelowSq(), a.sumBelowSq())).as("sumBelowSq of %s", v).isTrue();
            assertThat(java.util.Arrays.equals(b.sumBelowTimesEvents(), a.sumBelowTimesEvents())).as("sumBelowTimesEvents of %s", v).isTrue();
            assertThat(java.util.Arrays.stream(a.sumBelowSq()).filter(x -> !Double.isNaN(x)).count()).isBetween(1L, 2L);
        }
    }

    @Test
    void sumsAreTheSameWhetherUnitsAreSpreadOverPartsOrMerged() throws Exception {
        String tenant = "parts";
        ExperimentData d = new ExperimentData(ds);
        ExperimentData.demo(d, tenant, "aa", START, 300, 1.0, 7);
        d.flush();
        for (String t : List.of("vigil_experiment_unit_totals", "vigil_experiment_unit_hist")) {
            SchemaFixture.exec(ds, "OPTIMIZE TABLE " + t + " FINAL");
            SchemaFixture.exec(ds, "SYSTEM STOP MERGES " + t);
        }
        ExperimentSpec spec = module.registry().get(T, "aa");
        try {
            // a later flush: another day of events for half of the same units, in a part of its own
            ExperimentData.demo(d, tenant, "aa", START.plus(java.time.Duration.ofDays(1)), 150, 1.0, 8);
            d.flush();
            var parts = PerUnitRows.parts(ds, "vigil_experiment_unit_totals");
            assertThat(parts.bigPart()).isNotNull();
            assertThat(parts.othersExist()).isTrue();
            assertThat(scalar("SELECT count() FROM system.parts WHERE active AND database = currentDatabase() "
                    + "AND table = 'vigil_experiment_unit_totals'")).isGreaterThan(1);
            var spread = new ExperimentStats(ds).compute(tenant, spec, NOW).observation();
            for (String t : List.of("vigil_experiment_unit_totals", "vigil_experiment_unit_hist")) {
                SchemaFixture.exec(ds, "SYSTEM START MERGES " + t);
                SchemaFixture.exec(ds, "OPTIMIZE TABLE " + t + " FINAL");
            }
            var merged = new ExperimentStats(ds).compute(tenant, spec, NOW).observation();
            assertThat(spread.assignedUnits()).isEqualTo(merged.assignedUnits()).isEqualTo(Map.of("control", 300L, "treatment", 300L));
            for (String v : List.of("control", "treatment")) {
                var a = (RatioSums) spread.metrics().get("inference.latency_ms").get(v);
                var b = (RatioSums) merged.metrics().get("inference.latency_ms").get(v);
                assertThat(a.sumNumSq()).isCloseTo(b.sumNumSq(), within(1e-9 * b.sumNumSq()));
                assertThat(a.sumNumDen()).isCloseTo(b.sumNumDen(), within(1e-9 * b.sumNumDen()));
                assertThat(a.sumDenSq()).isEqualTo(b.sumDenSq());
                var qa = (QuantileSums) spread.metrics().get("p99").get(v);
                var qb = (QuantileSums) merged.metrics().get("p99").get(v);
                assertThat(qa.sumEventsSq()).isEqualTo(qb.sumEventsSq());
                assertThat(java.util.Arrays.equals(qa.sumBelowSq(), qb.sumBelowSq())).as("sumBelowSq of %s", v).isTrue();
                assertThat(java.util.Arrays.equals(qa.sumBelowTimesEvents(), qb.sumBelowTimesEvents())).isTrue();
            }
        } finally {
            for (String t : List.of("vigil_experiment_unit_totals", "vigil_experiment_unit_hist"))
                SchemaFixture.exec(ds, "SYSTEM START MERGES " + t);
        }
    }

    static double scalar(String sql) throws Exception {
        try (var c = ds.getConnection(); var st = c.createStatement(); var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getDouble(1);
        }
    }

    static double[] naiveRatio(String exp, String variant) throws Exception {
        String sql = "SELECT u.unit_id, sumIf(sum, measure = 'latency_ms'), sumIf(count, measure = 'latency_ms') "
                + "FROM vigil_experiment_units u WHERE tenant = 'acme' AND experiment = '" + exp + "' AND variant = '" + variant
                + "' AND type = 'inference' AND unit_id IN (SELECT unit_id FROM vigil_exposures WHERE tenant = 'acme' AND experiment = '"
                + exp + "' AND variant = '" + variant + "') GROUP BY u.unit_id";
        double[] s = new double[5];
        try (var c = ds.getConnection(); var st = c.createStatement(); var rs = st.executeQuery(sql)) {
            while (rs.next()) {
                double y = rs.getDouble(2), dd = rs.getDouble(3);
                s[0] += y; s[1] += y * y; s[2] += dd; s[3] += dd * dd; s[4] += y * dd;
            }
        }
        return s;
    }

    @Test
    void meanKindAndVersionHistory() throws Exception {
        JsonNode v2 = put("aa-mean", definition("MEAN"));
        assertThat(v2.path("data").path("version").asLong()).isEqualTo(1);
        JsonNode again = put("aa-mean", definition("MEAN").replace("\"value\":0.05", "\"value\":0.5"));
        assertThat(again.path("data").path("version").asLong()).isEqualTo(2);
        JsonNode versions = call(HttpMethod.GET, "/api/v1/experiments/aa-mean/versions", null).path("data");
        assertThat(versions.size()).isEqualTo(2);
        // no rows for "aa-mean": every arm has 0 units, guardrails NO_DATA, report still names version 2
        JsonNode rep = call(HttpMethod.GET, "/api/v1/experiments/aa-mean/report", null).path("data");
        assertThat(rep.path("definitionVersion").asLong()).isEqualTo(2);
        JsonNode list = call(HttpMethod.GET, "/api/v1/experiments", null).path("data");
        assertThat(list.toString()).contains("aa-mean").contains("regression");
        JsonNode del = call(HttpMethod.DELETE, "/api/v1/experiments/aa-mean", null);
        assertThat(del.path("status").asText()).isEqualTo("success");
        assertThat(call(HttpMethod.GET, "/api/v1/experiments/aa-mean", null).path("errorType").asText()).isEqualTo("not_found");
    }

    @Test
    void invalidDefinitionsAreRejectedWithEveryProblem() throws Exception {
        JsonNode r = put("bad", "{\"variants\":[{\"id\":\"a\",\"allocation\":0.7,\"control\":true}],\"start\":\"2025-03-01T00:00:00Z\"}");
        assertThat(r.path("errorType").asText()).isEqualTo("bad_data");
        assertThat(r.path("problems").toString()).contains("at least two variants").contains("end is missing");
        JsonNode bad = put("bad", "{\"variants\": 3, \"nonsense\": true}");
        assertThat(bad.path("errorType").asText()).isEqualTo("bad_data");
    }

    @Test
    void seriesExposeGuardrailAndSrmStates() {
        var series = module.seriesProviders().get(0);
        long now = NOW.toEpochMilli();
        var out = series.select(T, SelectHints.of(now - 300_000, now),
                List.of(Matcher.eq("__name__", ExperimentSeries.GUARDRAIL_STATUS), Matcher.eq("experiment", "regression"),
                        Matcher.eq("metric", "inference.latency_ms")));
        assertThat(out).hasSize(1);
        assertThat(out.get(0).values()[0]).as("FAIL (0 PASS, 1 INCONCLUSIVE, 2 FAIL)").isEqualTo(2.0);
        assertThat(out.get(0).timestamps()[out.get(0).size() - 1]).isEqualTo(now);
        var srm = series.select(T, SelectHints.of(now - 60_000, now), List.of(Matcher.eq("__name__", ExperimentSeries.SRM_P_VALUE)));
        assertThat(srm).extracting(s -> s.labels().get("experiment")).contains("aa", "regression");
    }

    static JsonNode metric(JsonNode data, String id) {
        for (JsonNode m : data.path("report").path("metrics")) if (m.path("metricId").asText().equals(id)) return m;
        throw new AssertionError("no metric " + id + " in " + data);
    }
}
