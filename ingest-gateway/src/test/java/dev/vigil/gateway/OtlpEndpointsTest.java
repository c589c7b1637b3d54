package dev.vigil.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OtlpEndpointsTest {
    /** The JSON parser's messages reach clients without the Java class that carried them. */
    @Test
    void parseErrorsLoseTheirJavaClassName() {
        assertThat(OtlpEndpoints.withoutClassName(new IllegalStateException("java.io.EOFException: End of input at line 1 column 19 path $.resourceLogs")))
                .isEqualTo("End of input at line 1 column 19 path $.resourceLogs");
        assertThat(OtlpEndpoints.withoutClassName(new IllegalStateException("com.google.gson.stream.MalformedJsonException: Unterminated object")))
                .isEqualTo("Unterminated object");
        assertThat(OtlpEndpoints.withoutClassName(new IllegalStateException("Expected BEGIN_OBJECT but was STRING: a.b")))
                .isEqualTo("Expected BEGIN_OBJECT but was STRING: a.b");
        assertThat(OtlpEndpoints.withoutClassName(new IllegalStateException())).isEqualTo("IllegalStateException");
    }
}
