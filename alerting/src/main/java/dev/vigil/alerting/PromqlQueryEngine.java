package dev.vigil.alerting;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.QueryContext;
import dev.vigil.promql.engine.QueryException;
import dev.vigil.promql.engine.QueryResult;
import dev.vigil.promql.engine.Sample;
import dev.vigil.promql.engine.Value;
import dev.vigil.promql.parser.ParseException;
import dev.vigil.promql.parser.Parser;
import dev.vigil.promql.storage.Storage;

/** {@link QueryEngine} over Vigil's PromQL engine, with one {@link Storage} per tenant. */
public final class PromqlQueryEngine implements QueryEngine {
    private final Engine engine;
    private final Function<String, Storage> storageOfTenant;
    private final long timeoutMillis;

    /**
     * @param engine          the shared engine
     * @param storageOfTenant the storage holding (only) the tenant's series
     * @param timeoutMillis   per-query timeout, 0 for the engine default
     */
    public PromqlQueryEngine(Engine engine, Function<String, Storage> storageOfTenant, long timeoutMillis) {
        this.engine = engine;
        this.storageOfTenant = storageOfTenant;
        this.timeoutMillis = timeoutMillis;
    }

    @Override
    public InstantResult query(String tenant, String expr, long evalTimeMillis) {
        QueryResult r;
        try {
            QueryContext qc = QueryContext.withTimeout(timeoutMillis > 0 ? timeoutMillis : engine.options().timeoutMs());
            r = engine.instantQuery(storageOfTenant.apply(tenant), expr, evalTimeMillis, qc);
        } catch (ParseException e) {
            throw new QueryFailedException(e.getMessage(), e);
        } catch (QueryException e) {
            throw new QueryFailedException(e.getMessage(), e);
        }
        return switch (r.value()) {
            case Value.Vector v -> {
                List<Element> out = new ArrayList<>(v.samples().size());
                for (Sample s : v.samples()) {
                    out.add(new Element(LabelSet.of(s.metric().toMap()), s.value()));
                }
                yield new Vector(out);
            }
            case Value.Scalar s -> new Scalar(s.value());
            default -> throw new QueryFailedException("rule result is not a vector or scalar");
        };
    }

    @Override
    public void validate(String expr) {
        try {
            Parser.parse(expr);
        } catch (ParseException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
