package dev.vigil.query.experiments;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.core.JsonProcessingException;

/** The message a client gets for a definition body Jackson cannot read: where and what, in the API's own terms. */
class DefinitionJsonProblemsTest {
    private static String problem(String body) {
        JsonProcessingException e = catchThrowableOfType(JsonProcessingException.class,
                () -> ExperimentSpec.parse("x1", 1, body.getBytes(StandardCharsets.UTF_8)));
        assertThat(e).as("a body Jackson cannot read: " + body).isNotNull();
        return dev.vigil.common.http.JsonProblems.describe(e);
    }

    @Test
    void anUnknownFieldIsNamedWithTheFieldsAccepted() {
        String m = problem("{\"nonsense\": 1}");
        assertThat(m).startsWith("unknown field 'nonsense'").contains("expected one of:").contains("variants", "randomisationUnit")
                .doesNotContain("dev.vigil").doesNotContain("class ");
        // inside a nested object: the path to that object
        m = problem("{\"variants\":[{\"id\":\"a\",\"allocation\":0.5,\"control\":true},{\"id\":\"b\",\"alocation\":0.5}]}");
        assertThat(m).startsWith("unknown field 'alocation' in variants[1]").contains("allocation");
    }

    @Test
    void aValueOfTheWrongTypeNamesItsPath() {
        String m = problem("{\"variants\":[{\"id\":\"a\",\"allocation\":\"half\",\"control\":true}]}");
        assertThat(m).contains("in variants[0].allocation");
    }

    @Test
    void aSyntaxErrorGivesLineAndColumnOfTheBody() {
        String m = problem("{\n  \"variants\": [\n  }");
        assertThat(m).contains("at line 3, column 3").doesNotContain("REDACTED");
    }
}
