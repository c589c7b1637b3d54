#!/usr/bin/env python3
"""Renders docs/benchmarks.md from the results directory of ./bench (stdout)."""
import json
import os
import re
import sys

out, mode = sys.argv[1], sys.argv[2]


def read(name, default=""):
    p = os.path.join(out, name)
    return open(p).read() if os.path.exists(p) else default


def kv(text):
    d = {}
    for part in re.split(r"\n| (?=\w+=)", text.strip()):
        if "=" in part:
            k, v = part.split("=", 1)
            d[k.strip()] = v.strip()
    return d


def status(step):
    s = read(step + ".status").strip() or "not run"
    load = kv(read(step + ".load"))
    return s, load


machine = kv(read("machine.txt"))
p = print
p("# Benchmarks")
p()
p("Produced by `./bench` (" + ("quick mode: short phases, figures less stable" if mode == "quick" else mode) + "); "
  "raw results of this run: `" + out + "` (not committed). Every ratio compares two figures measured in the same run "
  "on the same machine. Do not edit by hand: rerun `./bench`.")
p()
p("## Machine")
p()
p("| | |")
p("|---|---|")
for k in ("cpu_model", "cpus", "mem_total", "kernel", "java", "date", "git"):
    p(f"| {k} | {machine.get(k, '?')} |")
p()
loads = []
for step in ("gateway", "aggregator", "aggregator-long", "aggregator-shuffled", "aggregator-ids", "aggregator-batch-ids", "pipeline", "query", "experiments", "jmh"):
    s, load = status(step)
    if load:
        loads.append((step, s, load))
p("Load average (1/5/15 min) before and after each step. The machine has "
  f"{machine.get('cpus', '?')} cores and is shared with other engineers' builds and tests; a 1-minute load average "
  "above the core count means the figures below were taken **under CPU contention** and understate what the code can do "
  "on a quiet machine.")
p()
notes = read("notes.md").strip()
if notes:
    p(notes)
    p()
p("| step | status | load before | load after | seconds |")
p("|---|---|---|---|---|")
for step, s, load in loads:
    p(f"| {step} | {s} | {load.get('load_before', '?')} | {load.get('load_after', '?')} | {load.get('seconds', '?')} |")
p()

# --- summary: each goal beside this run's figure ---------------------------------------------------------------
def agg_headline(step):
    """(median ratio, end-to-end events/s of the first run) of an aggregator step, or (None, None)."""
    t = read(step + ".txt")
    r = re.search(r"repeats: \d+; end to end / the faster neighbouring ConsumerPerformance (?:fetch\.)?nMsg.sec: \[[^\]]*\]; median ([\d.]+)", t)
    e = re.search(r"stored in ClickHouse(?: and committed)? in [\d.]+ s = (\d+) events/s", t)
    return (float(r.group(1)) if r else None), (int(e.group(1)) if e else None)


def fmt(v, spec):
    return "not measured" if v is None else format(v, spec)


try:
    gs = json.load(open(os.path.join(out, "gateway", "summary.json")))
except Exception:
    gs = None
p("## Summary: the goals beside this run")
p()
p("Each figure is explained in its section below; \"met\" compares this run's figure with the goal and says nothing of "
  "other runs (docs/aggregator-performance.md and docs/gateway.md keep the record across runs).")
p()
p("| goal | this run | met |")
p("|---|---|---|")
if gs:
    gr = gs.get("ratio_gateway_vs_producer_performance")
    gp = gs.get("gateway_peak_events_per_sec")
    p99 = gs.get("half_peak_latency_ms", {}).get("p99")
    p(f"| gateway: 1,000,000 events/s sustained | {fmt(gp, ',')} events/s | {'yes' if gp and gp >= 1_000_000 else 'no'} |")
    p(f"| gateway: bytes/s >= 0.9 of ProducerPerformance's | {gr} | {'yes' if gr is not None and float(gr) >= 0.9 else 'no'} |")
    p(f"| gateway: p99 request latency < 50 ms at half the peak | {p99} ms | {'yes' if p99 is not None and float(p99) < 50 else 'no'} |")
    heap = gs.get("double_peak_max_heap_used_mib")
    p(f"| gateway: heap < 512 MB at twice the peak | {heap} MiB | {'yes' if heap is not None and float(heap) < 512 else 'no'} |")
for step, what in (("aggregator", "10 M events"), ("aggregator-long", "30 M events (steady state)"),
                   ("aggregator-shuffled", "30 M, event times shuffled (worst case)"),
                   ("aggregator-ids", "10 M, a client id on every event"),
                   ("aggregator-batch-ids", "10 M, batch-form client ids on every event")):
    ratio, e2e = agg_headline(step)
    p(f"| aggregator, {what}: >= 1,000,000 events/s end to end | {'not measured' if e2e is None else format(e2e, ',') + ' events/s (first run)'} | "
      f"{'-' if e2e is None else 'yes' if e2e >= 1_000_000 else 'no'} |")
    p(f"| aggregator, {what}: >= 0.7 of ConsumerPerformance | {'not measured' if ratio is None else 'median ' + format(ratio, '.3f')} | "
      f"{'-' if ratio is None else 'yes' if ratio >= 0.7 else 'no'} |")


def pipeline_run():
    """The pipeline step's soak summary and the rows its aggregator wrote per event consumed, or (None, None)."""
    try:
        sm = json.load(open(os.path.join(out, "pipeline", "soak-summary.json")))
    except Exception:
        return None, None
    metrics = read(os.path.join("pipeline", "aggregator-metrics.txt"))
    rows = sum(float(v) for v in re.findall(r'^vigil_aggregator_rows_written_total\{[^}]*\} ([\d.eE+]+)$', metrics, re.M))
    ev = re.search(r'^vigil_aggregator_records_consumed_total\{job="events"[^}]*\} ([\d.eE+]+)$', metrics, re.M)
    return sm, (rows / float(ev.group(1)) if ev and float(ev.group(1)) > 0 else None)


pipe, rows_per_event = pipeline_run()
if pipe:
    fr = pipe.get("freshness", {})
    f99 = fr.get("p99_ms")
    # a probe never seen within the probe's give-up time is not in the percentiles: the goal is not met with one
    unseen = sum(v for k, v in fr.items() if k.startswith("not_visible_within_ms_"))
    # the probe being read for when the run stopped: neither seen nor given up on; it counts against the goal once
    # it has waited 5 s (its wait is recorded since the ninth session: an older run's is unknown)
    pending = max(0, fr.get("probes_accepted", 0) - fr.get("visible", 0) - unseen)
    waited = fr.get("still_waiting_ms")
    pending_text = "" if not pending else (f", {pending} still being read for when the run stopped"
                                           + ("" if waited is None else f", after {waited:,} ms"))
    pending_late = pending and (waited is None or waited >= 5000)
    p(f"| pipeline: freshness (accepted at the gateway to visible in a query) p99 < 5 s at half the peak | "
      f"{'not measured' if f99 is None else format(f99, ',') + ' ms'} ({fr.get('visible', '?')} of {fr.get('probes_accepted', '?')} probes read back"
      f"{'' if not unseen else ', ' + str(unseen) + ' never'}{pending_text} at {pipe['rate']:,.0f} events/s) | "
      f"{'-' if f99 is None else 'yes' if f99 < 5000 and not unseen and not pending_late else 'no'} |")
    loss = pipe.get("loss", {})
    p(f"| pipeline: every acknowledged event stored once (the soak's loss check) | {loss.get('acked_events', 0):,} acknowledged, "
      f"{loss.get('stored_events', 0):,} stored, {loss.get('lost', '?')} lost, {loss.get('duplicated', '?')} duplicated | "
      f"{'yes' if loss.get('ok') else 'no'} |")
xs = re.sub(r"\x1b\[[0-9;]*m", "", read("experiments.txt"))
one = re.search(r"one report, ms per run: \[([^\]]*)\]", xs)
allr = re.search(r"all (\d+) reports \(all parts merged\), ms per run: \[([^\]]*)\]", xs)
if one:
    runs = sorted(int(v) for v in one.group(1).split(","))
    med = runs[len(runs) // 2]
    p(f"| experiments: one report < 200 ms | median {med} ms (runs {one.group(1)}; the first is cold) | {'yes' if med < 200 else 'no'} |")
if allr:
    runs = [int(v) for v in allr.group(2).split(",")]
    p(f"| experiments: all {allr.group(1)} reports over the units < 5 s | {max(runs):,} ms at most (runs {allr.group(2)}) | {'yes' if max(runs) < 5000 else 'no'} |")
p()

# --- gateway ---------------------------------------------------------------------------------------
p("## Gateway beside Kafka's ProducerPerformance")
p()
g = None
try:
    g = json.load(open(os.path.join(out, "gateway", "summary.json")))
except Exception:
    pass
if g:
    p("`load-test/bench-gateway.sh`: a broker, then `org.apache.kafka.tools.ProducerPerformance` (200-byte records, the "
      "gateway's producer settings: acks=all, idempotence, linger 5 ms, batch 256 KiB, lz4), then the gateway under the "
      "open-loop generator (`--mix inference`, batches of 500, 16 connections): peak (offered 1,000,000 ev/s; the accepted "
      "rate over the seconds after a 5 s warm-up of the generator), half the peak (latency, the first 5 s excluded), twice "
      "the peak (heap; 16 connections bound what reaches the gateway, so the excess queues in the generator: shedding with "
      "429 is measured by `ingest-gateway/bench.sh`'s 2,048-connection overload phase, docs/gateway.md).")
    p()
    p("| figure | value |")
    p("|---|---|")
    p(f"| ProducerPerformance | {g['producer_performance_records_per_sec']:,.0f} records/s, {g['producer_performance_mb_per_sec']} MB/s |")
    whole = g.get('gateway_peak_events_per_sec_whole_phase_incl_warmup')
    whole_note = (f"; {whole:,} counting every answer of the phase, including those that arrived after its end, over its nominal length"
                  if whole is not None else "")
    p(f"| gateway peak | {g['gateway_peak_events_per_sec']:,} events/s accepted ({g['gateway_peak_body_bytes_per_sec'] / 1e6:.1f} MB/s of request bodies{whole_note}) |")
    p(f"| **ratio** gateway event bytes/s (events/s x 200 B) : ProducerPerformance bytes/s | **{g['ratio_gateway_vs_producer_performance']}** |")
    gw_note = True
    lat = g["half_peak_latency_ms"]
    p(f"| latency at half the peak ({g['half_peak_rate']:,.0f} ev/s offered) | p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, max {lat['pmax']} ms |")
    p(f"| at twice the peak ({g['double_peak_rate']:,.0f} ev/s offered) | {g['double_peak_accepted_events_per_sec']:,} ev/s accepted, statuses {g['double_peak_statuses']}, gateway heap at most {g['double_peak_max_heap_used_mib']} MiB |")
    p()
    p("ProducerPerformance and the gateway run one after the other, and the machine's load changes between them, so a "
      "ratio near or above 1 says the gateway is not far from what a bare Kafka producer achieves here, not that it is "
      "faster. The gateway additionally parses and validates JSON, and the generator shares the 2 cores.")
else:
    p("Not measured in this run (" + status("gateway")[0] + "; see `" + out + "/gateway.txt`).")
p()

# --- aggregator --------------------------------------------------------------------------------------
def cp_fields(line):
    """nMsg.sec and fetch.nMsg.sec of a ConsumerPerformance output line (a header row then a value row)."""
    if not line:
        return None, None
    toks = [t for t in re.split(r"[,\s]+", line.group(1)) if t]
    heads = [t for t in toks if re.search(r"[a-zA-Z]", t) and not re.match(r"^\d{4}-", t)]
    vals = toks[len(heads):]
    numeric = [v for v in vals if re.match(r"^-?[\d.]+$", v)]

    def field(name):
        # the value row has two leading timestamps (date + time each) before the numeric fields
        try:
            idx = heads[heads.index("start.time"):].index(name)
            return float(numeric[idx - 2])
        except (ValueError, IndexError):
            return None
    return field("nMsg.sec"), field("fetch.nMsg.sec")


def aggregator_section(step, title, why, args="", opts=""):
    p("## " + title)
    p()
    agg = read(step + ".txt")
    m = re.search(r"consumed\+aggregated (\d+) events in ([\d.]+) s = (\d+) events/s; consumed, rolled up,? (?:and )?stored in ClickHouse(?: and committed)? in ([\d.]+) s = (\d+) events/s", agg)
    if not m:
        p("Not measured in this run (" + status(step)[0] + "; see `" + out + "/" + step + ".txt`).")
        p()
        return
    cp_rate, cp_fetch_rate = cp_fields(re.search(r"ConsumerPerformance: (.*)", agg))
    cp_after_rate, cp_after_fetch_rate = cp_fields(re.search(r"ConsumerPerformance after the job: (.*)", agg))
    cm = re.search(r"aggregator consumer threads \((\d+)\)", agg)
    consumers = cm.group(1) if cm else "?"
    tm = re.search(r"event times (ordered|shuffled): (.*?)(?:, client ids like .*)?$", agg, re.M)
    times = ("; event times " + tm.group(1) + ": " + tm.group(2)) if tm else ""
    p("`" + ("BENCH_JAVA_OPTS=" + opts + " " if opts else "") + "aggregator/bench.sh " + str(m.group(1)) + args + "`: events produced to a topic (4 partitions, 1,000 series" + times + "), then Kafka's "
      "`ConsumerPerformance` reads them (one thread), then one aggregator job with " + consumers + " consumer threads consumes, "
      "decodes, deduplicates, pre-aggregates and stores them in the embedded ClickHouse, then ConsumerPerformance reads the "
      "topic again (ClickHouse's merges settled first, as before the job). Both were warmed up first on another "
      "topic, the job in passes that alternate small, frequent flushes (500 ms, 250,000 records) with its own settings, so "
      "that the measured run takes no code path for the first time (docs/aggregator-performance.md, \"the warm-up did not take the measured run's paths\"). ConsumerPerformance's `nMsg.sec` counts from before it joined its group, `fetch.nMsg.sec` from after; the "
      "aggregator's rates count from its first record, so `fetch.nMsg.sec` is the like-for-like figure, and the ratios use it "
      "(the broker has Kafka's default 3 s initial rebalance delay, so that a job's two consumers form their group in one "
      "rebalance; `nMsg.sec` includes that wait). Its rate moves "
      "by ±20 % between runs on this machine, so each ratio is against the faster of the two runs beside the job; with "
      "`-Dbench.repeats=N` the job and ConsumerPerformance alternate N times and the headline is the median ratio. "
      + why.format(secs=float(m.group(2))))
    p()
    p("| figure | events/s |")
    p("|---|---|")
    if cp_rate:
        p(f"| ConsumerPerformance nMsg.sec | {cp_rate:,.0f} |")
    if cp_fetch_rate:
        p(f"| ConsumerPerformance fetch.nMsg.sec | {cp_fetch_rate:,.0f} |")
    p(f"| aggregator, consumed and pre-aggregated | {int(m.group(3)):,} |")
    p(f"| aggregator, consumed, rolled up and stored in ClickHouse (end to end) | {int(m.group(5)):,} |")
    if cp_after_rate:
        p(f"| ConsumerPerformance after the job, nMsg.sec | {cp_after_rate:,.0f} |")
    if cp_after_fetch_rate:
        p(f"| ConsumerPerformance after the job, fetch.nMsg.sec | {cp_after_fetch_rate:,.0f} |")
    e2e = int(m.group(5))
    reps = re.search(r"repeats: (\d+); end to end / the faster neighbouring ConsumerPerformance (?:fetch\.)?nMsg.sec: \[([^\]]*)\]; median ([\d.]+)", agg)
    if reps:
        p(f"| **median ratio over {reps.group(1)} runs** of the job, each end to end against the faster ConsumerPerformance fetch.nMsg.sec "
          f"run before or after it (runs: {reps.group(2)}) | **{float(reps.group(3)):.3f}** |")
    sus = re.search(r"sustainable: min\(end to end, CPU bound\) / the faster neighbouring ConsumerPerformance (?:fetch\.)?nMsg.sec: \[([^\]]*)\]; median ([\d.]+)", agg)
    if sus:
        p(f"| median of the same ratios with each rate capped at what its CPU allows on this machine: all the process' CPU "
          f"from the job's start until ClickHouse's merges of its parts settled, spread over the cores, merges included "
          f"(runs: {sus.group(1)}) | {float(sus.group(2)):.3f} |")
    # every ratio against fetch.nMsg.sec (from after ConsumerPerformance joined its group, as the job's rate counts
    # from its first record; nMsg.sec includes the broker's 3 s initial rebalance delay)
    if cp_fetch_rate and cp_after_fetch_rate:
        label = "ratio of the first run (the figures above) : " if reps else "**ratio** aggregator end to end : "
        value = f"{e2e / max(cp_fetch_rate, cp_after_fetch_rate):.3f}"
        p(f"| {label}the faster ConsumerPerformance fetch.nMsg.sec | {value if reps else '**' + value + '**'} |")
    elif cp_fetch_rate:
        p(f"| **ratio** aggregator end to end : ConsumerPerformance fetch.nMsg.sec | **{e2e / cp_fetch_rate:.3f}** |")
    if cp_rate and cp_after_rate:
        p(f"| the same against the faster ConsumerPerformance nMsg.sec (which counts its group join) | {e2e / max(cp_rate, cp_after_rate):.3f} |")
    rec = re.search(r"recovery: job \S+ again, (\d+) partitions recovered with (\d+) client ids re-read from Kafka in ([\d.]+) s", agg)
    if rec:
        p(f"| the job restarted on the same data: {rec.group(1)} partitions recovered, their retry stores rebuilt with "
          f"{int(rec.group(2)):,} client ids re-read from Kafka (from the job's start, group join included) | {float(rec.group(3)):.2f} s |")
    p()
    p("Raw lines:")
    p()
    p("```")
    for line in agg.splitlines():
        if re.match(r"^(produced|job:|ConsumerPerformance|aggregator|rows stored|load average|flushes|  insert into|process CPU|all process CPU|---|repeats|sustainable|recovery)", line):
            p(line)
    p("```")
    p()


aggregator_section("aggregator", "Aggregator beside Kafka's ConsumerPerformance",
                   "A run this short ({secs:.1f} s of consuming) also counts one-off costs: the last flush's insert (0.3-1.1 s) "
                   "after the last record is read, and the JIT (0.05-0.10 cores since the warm-up takes the job's flush paths, "
                   "0.1-0.3 before). With "
                   "flushes every 10 s while its partitions are behind it writes little before its last record, so ClickHouse's merges come after "
                   "the end-to-end figure: the steady-state run below, and the row capped by CPU, count them.")
aggregator_section("aggregator-long", "Aggregator beside Kafka's ConsumerPerformance, steady state",
                   "The same with three times the events ({secs:.1f} s of consuming): the one-off costs of the short run "
                   "weigh a third as much, so this is closer to the rate of an aggregator that runs for hours.")

aggregator_section("aggregator-shuffled", "Aggregator beside Kafka's ConsumerPerformance, steady state, event times shuffled (worst case)",
                   "The steady state again with the former data shape ({secs:.1f} s of consuming): event times uniform over the "
                   "last 60 s whatever the records' order, so every record may fall in any of six 10 s buckets of its series and "
                   "every flush rewrites all of them. A stream read from Kafka is in arrival order, so this is not what the "
                   "gateway's topics look like; it is the rollup's worst case for its working set and for ClickHouse's merges "
                   "(docs/aggregator-performance.md, \"2026-11-28, later\").", opts="-Dbench.times=shuffled")

aggregator_section("aggregator-ids", "Aggregator beside Kafka's ConsumerPerformance, events with client ids",
                   "Here every event carries a unique client id of no particular form (`id-<n>`, as a client's own `event_id`; "
                   "{secs:.1f} s of consuming in the first run): "
                   "the job checks each id against the partition's retry window (the last 500,000 ids) and marks the records whose "
                   "id it accepted (a bit each, stored with the flush; docs/exactly-once.md). After the last run the job is started "
                   "again on the same data, so every partition rebuilds its retry store by re-reading its marked records from Kafka.",
                   " 4 1000 1.0")

aggregator_section("aggregator-batch-ids", "Aggregator beside Kafka's ConsumerPerformance, events with batch-derived client ids",
                   "The same with ids as the gateway derives them when a client sends a `batch_id` ({secs:.1f} s of consuming in "
                   "the first run): `<batch id>#<index>`, a UUID per 500 events of one tenant (a request has one API key), so a "
                   "partition reads runs of ~125 records of one batch. The retry store keeps such ids in an entry per batch (docs/exactly-once.md, \"Batch-form ids\"); the "
                   "records are larger (129 bytes against 99), which ConsumerPerformance reads too. After the last run the job is "
                   "started again on the same data: its partitions rebuild their retry stores, batch entries included.",
                   " 4 1000 1.0", opts="-Dbench.ids=batch")

# --- pipeline: freshness at half the peak -------------------------------------------------------------------
p("## The whole pipeline at half its peak: freshness and rows written per event")
p()
if pipe:
    pr = pipe.get("probe") or {}
    fr = pipe.get("freshness", {})
    ld = pipe.get("load", {})
    p("`SoakMain --duration " + str(pipe.get("duration_s", "?")) + "s` (load-test; docs/reliability.md, \"Soak\"): the whole stack "
      "as child JVMs (Kafka, the embedded ClickHouse, gateway, aggregator, query API), warmed up, then a 20 s burst to "
      "measure the pipeline's peak (the burst's events over the time until every aggregator job reading the events has "
      "consumed them), then the accounting workload (batches of 500, 8 connections, experiments and client ids included) "
      "at half that peak. Beside the load, a probe event every 1-3 s through the gateway: from its 2xx, the query API is "
      "asked in PromQL every 100 ms until the event is counted (at the end of its 10 s bucket, the first instant whose "
      "counter includes it); a dashboard asking at \"now\" waits for the bucket to close too (0-10 s more, \"at now\"). "
      "At the end every acknowledged event is looked up in ClickHouse.")
    p()
    p("| figure | value |")
    p("|---|---|")
    if pr:
        p(f"| pipeline peak (burst) | {pr.get('pipeline_peak_events_per_sec', 0):,} events/s ({pr.get('events_accepted', 0):,} events consumed by every events job "
          f"{pr.get('pipeline_seconds_until_consumed', '?')} s after the burst's start; the gateway alone accepted {pr.get('accepted_events_per_sec', 0):,} events/s) |")
    p(f"| load | {pipe['rate']:,.0f} events/s offered for {pipe.get('duration_s', '?')} s; {ld.get('events_accepted', 0):,} accepted; "
      f"request latency p99 {ld.get('latency_ms', {}).get('p99', '?')} ms |")
    if fr.get("p99_ms") is not None:
        p(f"| **freshness**, gateway 2xx to visible in a query | p50 {fr['p50_ms']:,} ms, **p99 {fr['p99_ms']:,} ms**, max {fr['max_ms']:,} ms "
          f"({fr.get('visible', '?')} of {fr.get('probes_accepted', '?')} probes read back) |")
        p(f"| freshness \"at now\" (the bucket closed too) | p50 {fr.get('at_now_p50_ms', 0):,} ms, p99 {fr.get('at_now_p99_ms', 0):,} ms |")
    if rows_per_event is not None:
        p(f"| rows written per event ingested | {rows_per_event:.3f} (rows inserted into every table the aggregator's jobs write, "
          "1 m and 1 h rows included, before ClickHouse's merges, over the events job's records consumed; most are the experiment "
          "rollups' per-unit rows and exposures) |")
    loss = pipe.get("loss", {})
    p(f"| loss check | {loss.get('acked_events', 0):,} acknowledged, {loss.get('stored_events', 0):,} stored, "
      f"{loss.get('lost', '?')} lost, {loss.get('duplicated', '?')} duplicated |")
    cpu = pipe.get("cpu") or {}
    if cpu:
        parts = ", ".join(f"{k} {v['us_per_event']} µs ({v['cores']} cores)" for k, v in cpu.items() if isinstance(v, dict))
        p(f"| CPU per accepted event | {parts}; {cpu.get('total_cores', '?')} cores in all |")
else:
    p("Not measured in this run (" + status("pipeline")[0] + "; see `" + out + "/pipeline.txt`).")
p()

# --- query ---------------------------------------------------------------------------------------------
p("## PromQL query latency beside hand-written SQL")
p()
q = read("query.txt")
rows = [l for l in q.splitlines() if l.startswith("|")]
if rows:
    p("`query-api/bench.sh`: range queries over 1,000 event series for 24 h at a 60 s step through the PromQL engine "
      "and the ClickHouse storage, beside the equivalent hand-written ClickHouse SQL, same session, runs interleaved "
      "after ClickHouse's merges of the loaded data settled; then every request of `dashboards/json/ml-model-health.json` "
      "(6 h, step 20 s) over HTTP, wall time of the whole dashboard (docs/query-api.md, \"Benchmark\").")
    p()
    for l in q.splitlines():
        if l.startswith("BENCH"):
            p("- " + l)
    p()
    for l in rows:
        p(l)
else:
    p("Not measured in this run (" + status("query")[0] + "; see `" + out + "/query.txt`).")
p()

# --- experiments ---------------------------------------------------------------------------------------------
p("## Experiment reports (guardrail statistics pushed down to ClickHouse)")
p()
x = re.sub(r"\x1b\[[0-9;]*m", "", read("experiments.txt"))
lines = [l.strip() for l in x.splitlines() if l.strip() and (l.startswith("generated") or l.startswith("one report")
         or l.startswith("all ") or l.startswith("added") or l.strip().startswith("run "))]
if any(l.startswith("all ") for l in lines):
    p("`query-api/bench-experiments.sh`: N units over E experiments of one tenant, 5 metrics each (proportion, mean, "
      "two ratios, a p95 quantile), in the shape the aggregator writes; one fresh report, then all E reports "
      "(fresh, 3 runs) with the unit totals merged, then again with 10 % of the units also in an unmerged part "
      "(docs/experiments-api.md, \"Performance\"). Goals: one report < 200 ms, all 1,000 reports over 10 M units < 5 s.")
    p()
    for l in lines:
        p("- " + l)
else:
    p("Not measured in this run (" + status("experiments")[0] + "; see `" + out + "/experiments.txt`).")
p()

# --- JMH ---------------------------------------------------------------------------------------------------
p("## JMH microbenchmarks (hot paths)")
p()
try:
    jmh = json.load(open(os.path.join(out, "jmh.json")))
except Exception:
    jmh = []
desc = {
    "decodeEvents": "gateway: decode + validate `/v1/events` JSON (EventJsonParser, 500-event batches); ops = events",
    "histogramInsert": "log-bucket histogram insertion (LogHistogram.add); ops = values",
    "histogramKey": "LogBuckets.key alone; ops = values",
    "promqlSumByRate": "PromQL `sum by (model) (rate(x[5m]))`, 1,000 series x 1 h, step 60 s (in-memory storage); ops = queries",
    "promqlInstantTopk": "PromQL instant `topk(5, increase(x[10m]))` over 1,000 series; ops = queries",
    "accumulate": "rollup accumulation per Kafka record (RecordCodec decode, series id, dedup hash, count/sum/min/max/histogram per series, measure, bucket); ops = records",
}
if jmh:
    p("`java -cp 'load-test/target/classes:load-test/target/lib/*' org.openjdk.jmh.Main 'dev.vigil.loadtest.jmh.*'` "
      "(JMH 1.37; throughput, one fork, " + ("short warm-up" if mode == "quick" else "2 x 2 s warm-up, 3 x 2 s measurement") + ").")
    p()
    p("| benchmark | what | score | error (99.9%) |")
    p("|---|---|---:|---:|")
    for b in jmh:
        name = b["benchmark"].rsplit(".", 1)[1]
        pm = b["primaryMetric"]
        err = pm.get("scoreError")
        try:
            err_s = f"± {float(err):,.0f}"
            if err_s == "± nan":
                err_s = "-"
        except (TypeError, ValueError):
            err_s = "-"
        unstable = isinstance(err, (int, float)) and err == err and err > 0.3 * pm["score"]
        p(f"| {b['benchmark'].replace('dev.vigil.loadtest.jmh.', '')} | {desc.get(name, '')} | {pm['score']:,.0f} {pm['scoreUnit']} | {err_s}{' (unstable: contention)' if unstable else ''} |")
    p()
    p("An error (99.9% confidence half-width) larger than about a third of the score means the iterations disagreed, "
      "which on this machine is CPU contention from other processes, not noise of the code: read those scores as "
      "orders of magnitude only, and rerun `./bench jmh` on a quiet machine.")
else:
    p("Not measured in this run (" + status("jmh")[0] + ").")
p()
p("## Reproduce")
p()
p("```")
p("./bench          # full run, rewrites this page")
p("./bench quick    # smoke run")
p("./bench jmh      # microbenchmarks only")
p("```")
