package dev.vigil.promql;

import java.util.regex.Pattern;

/** A label matcher. Regex matchers are fully anchored, as in Prometheus. */
public final class Matcher {
    public enum Type {
        EQ("="), NEQ("!="), RE("=~"), NRE("!~");
        public final String op;
        Type(String op) { this.op = op; }
    }

    private final Type type;
    private final String name;
    private final String value;
    private final Pattern pattern;

    public Matcher(Type type, String name, String value) {
        this.type = type;
        this.name = name;
        this.value = value;
        this.pattern = (type == Type.RE || type == Type.NRE) ? RegexTranslator.compileAnchored(value) : null;
    }

    public static Matcher eq(String name, String value) { return new Matcher(Type.EQ, name, value); }

    public Type type() { return type; }
    public String name() { return name; }
    public String value() { return value; }
    public Pattern pattern() { return pattern; }

    public boolean matches(String s) {
        return switch (type) {
            case EQ -> s.equals(value);
            case NEQ -> !s.equals(value);
            case RE -> pattern.matcher(s).matches();
            case NRE -> !pattern.matcher(s).matches();
        };
    }

    public boolean matches(Labels l) { return matches(l.get(name)); }

    /** True if this matcher matches the empty string (i.e. also series without the label). */
    public boolean matchesEmpty() { return matches(""); }

    @Override public String toString() {
        String n = Labels.isLegacyLabelName(name) ? name : Strings.quote(name);
        return n + type.op + Strings.quote(value);
    }
}
