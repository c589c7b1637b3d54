package dev.vigil.query.experiments;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;

/**
 * The JSON mapper of the experiment and ML-health endpoints: java.time.Instant as ISO-8601 text
 * (without jackson-datatype-jsr310), records as plain objects, unknown properties rejected.
 */
public final class ExperimentJson {
    public static final ObjectMapper MAPPER = create();

    private ExperimentJson() {
    }

    private static ObjectMapper create() {
        SimpleModule time = new SimpleModule("vigil-instant");
        time.addSerializer(Instant.class, ToStringSerializer.instance);
        time.addDeserializer(Instant.class, new JsonDeserializer<>() {
            @Override
            public Instant deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                if (p.currentToken().isNumeric()) return Instant.ofEpochMilli(p.getLongValue());
                String s = p.getValueAsString();
                try {
                    return Instant.parse(s);
                } catch (DateTimeParseException e) {
                    throw ctxt.weirdStringException(s, Instant.class, "expected an ISO-8601 instant such as 2025-01-01T00:00:00Z");
                }
            }
        });
        ObjectMapper m = new ObjectMapper();
        m.registerModule(time);
        m.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
        m.configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false);
        return m;
    }
}
