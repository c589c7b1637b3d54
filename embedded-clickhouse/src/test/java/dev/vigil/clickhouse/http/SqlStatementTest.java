package dev.vigil.clickhouse.http;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class SqlStatementTest {
    static String head(String sql, SqlStatement st) {
        byte[] b = sql.getBytes(StandardCharsets.UTF_8);
        return new String(b, st.start, st.insertHeadEnd - st.start, StandardCharsets.UTF_8).strip();
    }

    static String data(String sql, SqlStatement st) {
        byte[] b = sql.getBytes(StandardCharsets.UTF_8);
        return new String(b, st.dataStart, b.length - st.dataStart, StandardCharsets.UTF_8);
    }

    @Test
    void insertWithFormatSplitsHeadAndData() {
        String sql = "/* c */ INSERT INTO db.t (a, `format`) SETTINGS x = 'FORMAT' FORMAT RowBinary \n\n\u0000;\u0001";
        SqlStatement st = SqlStatement.parse(sql);
        assertThat(st.kind).isEqualTo(SqlStatement.Kind.INSERT);
        assertThat(st.format).isEqualTo("RowBinary");
        assertThat(head(sql, st)).isEqualTo("INSERT INTO db.t (a, `format`) SETTINGS x = 'FORMAT'");
        assertThat(data(sql, st)).isEqualTo("\n\u0000;\u0001");
        assertThat(st.multiStatement).isFalse();
    }

    @Test
    void insertValuesAndInsertSelect() {
        String v = "insert into t values (1, 'a;b'), (2, 'c')";
        SqlStatement st = SqlStatement.parse(v);
        assertThat(st.format).isEqualTo("Values");
        assertThat(head(v, st)).isEqualTo("insert into t");
        assertThat(data(v, st)).isEqualTo(" (1, 'a;b'), (2, 'c')");
        SqlStatement sel = SqlStatement.parse("INSERT INTO t SELECT * FROM s");
        assertThat(sel.hasInlineData()).isFalse();
        assertThat(sel.kind).isEqualTo(SqlStatement.Kind.INSERT);
    }

    @Test
    void selectsFormatsAndMultiStatements() {
        SqlStatement s = SqlStatement.parse("-- hi\nSELECT format('{}', 1), 'FORMAT JSON' FORMAT CSVWithNames;  -- end");
        assertThat(s.kind).isEqualTo(SqlStatement.Kind.SELECT);
        assertThat(s.format).isEqualTo("CSVWithNames");
        assertThat(s.multiStatement).isFalse();
        assertThat(SqlStatement.parse("SELECT 1; SELECT 2").multiStatement).isTrue();
        assertThat(SqlStatement.parse("SELECT ';' AS x").multiStatement).isFalse();
        assertThat(SqlStatement.parse("WITH 1 AS x SELECT x").streamable()).isTrue();
        assertThat(SqlStatement.parse("(SELECT 1)").streamable()).isTrue();
        assertThat(SqlStatement.parse("SHOW TABLES").streamable()).isFalse();
        assertThat(SqlStatement.parse("  /* only */ -- comments").kind).isEqualTo(SqlStatement.Kind.EMPTY);
        assertThat(SqlStatement.parse("USE `my db`").useDatabase).isEqualTo("my db");
        assertThat(SqlStatement.parse("set max_threads = 1").kind).isEqualTo(SqlStatement.Kind.SET);
    }

    @Test
    void dataStartsAfterTheFirstNewlineOrBlanks() {
        String a = "INSERT INTO t FORMAT TSV\r\n1\t2";
        assertThat(data(a, SqlStatement.parse(a))).isEqualTo("1\t2");
        String b = "INSERT INTO t FORMAT CSV  1,2";
        assertThat(data(b, SqlStatement.parse(b))).isEqualTo("1,2");
        String c = "INSERT INTO t FORMAT TSV\n\n";
        assertThat(data(c, SqlStatement.parse(c))).isEqualTo("\n");
    }
}
