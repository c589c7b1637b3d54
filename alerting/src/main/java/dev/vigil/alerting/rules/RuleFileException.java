package dev.vigil.alerting.rules;

import java.util.List;

/** A rule file or group that does not validate; carries every error found. */
public final class RuleFileException extends RuntimeException {
    private final List<String> errors;

    public RuleFileException(String source, List<String> errors) {
        super(source + ": " + String.join("; ", errors));
        this.errors = List.copyOf(errors);
    }

    public List<String> errors() {
        return errors;
    }
}
