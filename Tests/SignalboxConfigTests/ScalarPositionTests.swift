import SignalboxCore
import Testing

@testable import SignalboxConfig

/// SQL written in every YAML scalar style maps back to the right file line and column.
struct ScalarPositionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        /// The `sql:` entry, indented for a rule; the rule starts on line 3, so `sql:` is on line 4.
        let sql: String
        /// A word of the SQL and where it is in the file.
        let token: String
        let line: Int
        let column: Int
        var testDescription: String { "\(name): \(token)" }
    }

    static let cases: [Case] = [
        Case(name: "plain", sql: "    sql: SELECT temp FROM 'a'", token: "FROM", line: 4, column: 22),
        Case(
            name: "plain, folded over lines",
            sql: "    sql: SELECT temp\n      FROM 'a'\n      WHERE temp > 1", token: "WHERE", line: 6, column: 7),
        Case(
            name: "plain, trailing spaces before the fold",
            sql: "    sql: SELECT temp   \n      FROM 'a'", token: "FROM", line: 5, column: 7),
        Case(
            name: "single-quoted, folded", sql: "    sql: 'SELECT ''x'' AS s,\n      temp FROM ''a'''", token: "temp",
            line: 5, column: 7),
        Case(name: "single-quoted", sql: "    sql: 'SELECT temp FROM ''a'''", token: "temp", line: 4, column: 18),
        Case(
            name: "double-quoted, blank line", sql: "    sql: \"SELECT temp,\n\n      abs(1) FROM 'a'\"", token: "abs",
            line: 6, column: 7),
        Case(
            name: "double-quoted, escaped line break",
            sql: "    sql: \"SELECT temp \\\n      FROM 'a'\"", token: "SELECT", line: 4, column: 11),
        Case(
            name: "literal", sql: "    sql: |\n      SELECT temp\n\n        FROM 'a'", token: "FROM", line: 7, column: 9
        ),
        Case(
            name: "literal, keep", sql: "    sql: |+\n      SELECT temp\n      FROM 'a'\n\n", token: "FROM", line: 6,
            column: 7),
        Case(
            name: "literal, indentation indicator", sql: "    sql: |2\n        SELECT temp\n        FROM 'a'",
            token: "FROM", line: 6, column: 9),
        Case(
            name: "folded", sql: "    sql: >\n      SELECT temp\n      FROM 'a'\n      WHERE temp > 1", token: "WHERE",
            line: 7, column: 7),
        Case(
            name: "folded, strip, blank lines",
            sql: "    sql: >-\n      SELECT temp,\n\n\n      abs(1) AS x\n      FROM 'a'", token: "abs", line: 8,
            column: 7),
        Case(
            name: "folded, more-indented line",
            sql: "    sql: >-\n      SELECT temp,\n          round(2) AS y\n      FROM 'a'", token: "round", line: 6,
            column: 11),
        Case(
            name: "folded, after a more-indented line",
            sql: "    sql: >-\n      SELECT temp,\n          round(2) AS y\n      FROM 'a'", token: "FROM", line: 7,
            column: 7),
        Case(
            name: "folded, comment after the header", sql: "    sql: >- # the rule\n      SELECT temp FROM 'a'",
            token: "FROM", line: 5, column: 19),
        Case(
            name: "non-ASCII before the token", sql: "    sql: SELECT 'é→' AS e, temp FROM 'a'", token: "temp",
            line: 4, column: 28),
    ]

    static func yaml(_ sql: String) -> String {
        "version: 1\nrules:\n  - name: r\n\(sql)\n    actions: [{ function: log }]\n"
    }

    static func location(of token: String, in yaml: String) throws -> (line: Int, column: Int) {
        let (document, diagnostics) = RulesLoader(environment: [:]).decode(yaml: yaml, name: "rules.yaml")
        #expect(diagnostics.isEmpty)
        let sql = try #require(document?.rules.first?.sql)
        let range = try #require(sql.value.utf8.firstRange(of: token.utf8))
        let offset = sql.value.utf8.distance(from: sql.value.utf8.startIndex, to: range.lowerBound)
        return sql.source.location(of: offset)
    }

    @Test(arguments: cases)
    func sqlPositionsMapToTheFile(_ test: Case) throws {
        let location = try Self.location(of: test.token, in: Self.yaml(test.sql))
        #expect(location.line == test.line)
        #expect(location.column == test.column)
    }

    @Test(arguments: cases)
    func windowsLineEndingsMapTheSame(_ test: Case) throws {
        let yaml = Self.yaml(test.sql).split(separator: "\n", omittingEmptySubsequences: false).joined(
            separator: "\r\n")
        let location = try Self.location(of: test.token, in: yaml)
        #expect(location.line == test.line)
        #expect(location.column == test.column)
    }

    @Test func anErrorInAFoldedScalarRendersOnItsOwnLine() {
        let yaml = Self.yaml("    sql: >-\n      SELECT temp\n      FROM 'a'\n      WHERE nope(temp)")
        let (output, _) = RulesLoader(environment: [:]).check(yaml: yaml, name: "rules.yaml")
        #expect(
            output == """
                error: unknown function 'nope'
                 --> rules.yaml:7:13
                  |
                7 |       WHERE nope(temp)
                  |             ^~~~

                error: rules.yaml has 1 error

                """)
    }

    @Test func escapesShiftColumnsOnlyUntilTheNextLine() throws {
        // `''` is one character of the value but two of the file: the caret after it on the same line
        // is one column early (documented); the next line starts exactly.
        let yaml = Self.yaml("    sql: 'SELECT ''x'' AS s,\n      temp FROM ''a'''")
        #expect(try Self.location(of: "AS", in: yaml) == (4, 22))
        #expect(try Self.location(of: "FROM", in: yaml) == (5, 12))
    }
}
