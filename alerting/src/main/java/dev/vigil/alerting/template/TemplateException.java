package dev.vigil.alerting.template;

/** A template that cannot be parsed (reported when rules are loaded) or executed. */
public final class TemplateException extends RuntimeException {
    public TemplateException(String message) {
        super(message);
    }
}
