package dev.vigil.guardrails;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Prints validation figures and keeps a copy in target/validation/NAME.txt (quoted in docs/statistics.md). */
final class Figures {
    private final StringBuilder text = new StringBuilder();
    private final String name;

    Figures(String name) {
        this.name = name;
    }

    Figures line(String format, Object... args) {
        String s = String.format(Locale.ROOT, format, args);
        System.out.println("[" + name + "] " + s);
        text.append(s).append('\n');
        return this;
    }

    void save() {
        try {
            Path dir = Path.of("target", "validation");
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name + ".txt"), text.toString());
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** Binomial standard error of a rate estimated from m trials. */
    static double se(double rate, int m) {
        return Math.sqrt(rate * (1 - rate) / m);
    }
}
