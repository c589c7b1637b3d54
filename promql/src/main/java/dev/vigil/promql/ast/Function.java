package dev.vigil.promql.ast;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.vigil.promql.ast.ValueType.*;

/** A PromQL function signature. variadic: 0 = fixed, n > 0 = up to n optional extra args, -1 = unlimited. */
public record Function(String name, List<ValueType> argTypes, int variadic, ValueType returnType) {
    public static final Map<String, Function> ALL = new HashMap<>();

    private static void f(String name, ValueType ret, int variadic, ValueType... args) {
        ALL.put(name, new Function(name, List.of(args), variadic, ret));
    }

    static {
        for (String n : List.of("abs", "absent", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh",
                "deg", "exp", "floor", "histogram_avg", "histogram_count", "histogram_sum", "histogram_stddev", "histogram_stdvar",
                "ln", "log10", "log2", "rad", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "start_timestamp", "tan", "tanh", "timestamp"))
            f(n, VECTOR, 0, VECTOR);
        for (String n : List.of("absent_over_time", "avg_over_time", "changes", "count_over_time", "delta", "deriv",
                "first_over_time", "idelta", "increase", "irate", "last_over_time", "mad_over_time", "max_over_time",
                "min_over_time", "ts_of_first_over_time", "ts_of_max_over_time", "ts_of_min_over_time", "ts_of_last_over_time",
                "present_over_time", "rate", "resets", "stddev_over_time", "stdvar_over_time", "sum_over_time"))
            f(n, VECTOR, 0, MATRIX);
        f("clamp", VECTOR, 0, VECTOR, SCALAR, SCALAR);
        f("clamp_max", VECTOR, 0, VECTOR, SCALAR);
        f("clamp_min", VECTOR, 0, VECTOR, SCALAR);
        for (String n : List.of("days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year"))
            f(n, VECTOR, 1, VECTOR);
        for (String n : List.of("end", "pi", "range", "start", "step", "time")) f(n, SCALAR, 0);
        f("histogram_fraction", VECTOR, 0, SCALAR, SCALAR, VECTOR);
        f("histogram_quantile", VECTOR, 0, SCALAR, VECTOR);
        f("histogram_quantiles", VECTOR, 9, VECTOR, STRING, SCALAR, SCALAR);
        f("double_exponential_smoothing", VECTOR, 0, MATRIX, SCALAR, SCALAR);
        f("info", VECTOR, 1, VECTOR, VECTOR);
        f("integral", VECTOR, 1, MATRIX, SCALAR);
        f("label_replace", VECTOR, 0, VECTOR, STRING, STRING, STRING, STRING);
        f("label_join", VECTOR, -1, VECTOR, STRING, STRING, STRING);
        f("predict_linear", VECTOR, 0, MATRIX, SCALAR);
        f("quantile_over_time", VECTOR, 0, SCALAR, MATRIX);
        f("round", VECTOR, 1, VECTOR, SCALAR);
        f("scalar", SCALAR, 0, VECTOR);
        f("sort_by_label", VECTOR, -1, VECTOR, STRING);
        f("sort_by_label_desc", VECTOR, -1, VECTOR, STRING);
        f("vector", VECTOR, 0, SCALAR);
        f("min_of", SCALAR, 0, SCALAR, SCALAR);
        f("max_of", SCALAR, 0, SCALAR, SCALAR);
    }
}
