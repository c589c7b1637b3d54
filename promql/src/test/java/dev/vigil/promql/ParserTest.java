package dev.vigil.promql;

import dev.vigil.promql.ast.*;
import dev.vigil.promql.parser.ParseException;
import dev.vigil.promql.parser.Parser;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParserTest {
    @Test
    void precedenceAndRightAssociativePow() {
        BinaryExpr e = (BinaryExpr) Parser.parse("1 + 2 * 3 ^ 2 ^ 2");
        assertThat(e.op()).isEqualTo("+");
        BinaryExpr mul = (BinaryExpr) e.rhs();
        assertThat(mul.op()).isEqualTo("*");
        BinaryExpr pow = (BinaryExpr) mul.rhs();
        assertThat(pow.rhs()).isInstanceOf(BinaryExpr.class); // 3 ^ (2 ^ 2)
        assertThat(((UnaryExpr) Parser.parse("-a ^ 2")).expr()).isInstanceOf(BinaryExpr.class);
    }

    @Test
    void selectorsMatchersAndModifiers() {
        VectorSelector vs = (VectorSelector) Parser.parse("{\"metric.name\", job=~\"a|b\", \"my.label\"!=\"x\"} offset -5m @ start()");
        assertThat(vs.name()).isEqualTo("metric.name");
        assertThat(vs.matchers()).hasSize(3);
        assertThat(vs.offset().millis(0, 0)).isEqualTo(-300_000);
        assertThat(vs.at().kind()).isEqualTo(At.Kind.START);
        MatrixSelector ms = (MatrixSelector) Parser.parse("foo[1h30m]");
        assertThat(ms.range().millis(0, 0)).isEqualTo(5_400_000);
        SubqueryExpr sq = (SubqueryExpr) Parser.parse("rate(foo[5m])[1h:1m] offset 1m");
        assertThat(sq.step().millis(0, 0)).isEqualTo(60_000);
        assertThat(((MatrixSelector) Parser.parse("foo[2m*15]")).range().millis(0, 0)).isEqualTo(1_800_000);
    }

    @Test
    void regexIsFullyAnchored() {
        Matcher m = new Matcher(Matcher.Type.RE, "a", "fo+");
        assertThat(m.matches("foo")).isTrue();
        assertThat(m.matches("xfoo")).isFalse();
        assertThat(new Matcher(Matcher.Type.RE, "a", "[[:alpha:]]+").matches("abc")).isTrue();
        assertThat(new Matcher(Matcher.Type.RE, "a", "(?P<x>a)b").matches("ab")).isTrue();
    }

    @Test
    void aggregationsAndVectorMatching() {
        AggregateExpr a = (AggregateExpr) Parser.parse("topk by (job) (3, rate(x[5m]))");
        assertThat(a.op()).isEqualTo("topk");
        assertThat(a.grouping()).containsExactly("job");
        a = (AggregateExpr) Parser.parse("sum(x) without (instance)");
        assertThat(a.without()).isTrue();
        BinaryExpr b = (BinaryExpr) Parser.parse("a / on(job) group_left(team) b");
        assertThat(b.matching().card()).isEqualTo(VectorMatching.Card.MANY_TO_ONE);
        assertThat(b.matching().include()).containsExactly("team");
        assertThat(((NumberLiteral) Parser.parse("0x1F")).value()).isEqualTo(31);
        assertThat(((StringLiteral) Parser.parse("\"a\\nb\" # comment")).value()).isEqualTo("a\nb");
    }

    @Test
    void errorsCarryPositions() {
        assertThatThrownBy(() -> Parser.parse("sum(foo"))
                .isInstanceOf(ParseException.class).hasMessageContaining("1:");
        assertThatThrownBy(() -> Parser.parse("foo{a=\"b\"} + on(x) 1")).hasMessageContaining("vector matching only allowed between instant vectors");
        assertThatThrownBy(() -> Parser.parse("rate(foo)")).hasMessageContaining("expected type range vector");
        assertThatThrownBy(() -> Parser.parse("{}")).hasMessageContaining("at least one non-empty matcher");
        ParseException e = (ParseException) org.assertj.core.api.Assertions.catchThrowable(() -> Parser.parse("foo +\n  )"));
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.column()).isEqualTo(3);
    }
}
