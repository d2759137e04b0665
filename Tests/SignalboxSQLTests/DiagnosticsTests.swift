import Testing

@testable import SignalboxSQL

/// Golden tests for rendered diagnostics: the exact text users see.
struct DiagnosticsTests {
    /// Comments compile (a Signalbox extension) but AWS IoT rejects them: one warning per statement,
    /// at the first comment, with the count in its help.
    @Test(arguments: [
        ("SELECT a FROM 't'", ""),
        ("SELECT '--' AS a, \"/*\" AS b FROM 't'", ""),
        (
            "SELECT a -- the reading\nFROM 't'",
            """
            warning: AWS IoT does not accept comments in rule SQL; this rule will not load on AWS
             --> <sql>:1:10
              |
            1 | SELECT a -- the reading
              |          ^~~~~~~~~~~~~~ remove the comment before moving the rule to AWS

            """
        ),
        (
            "SELECT a\nFROM 't' /* all */ WHERE a > 1 -- big",
            """
            warning: AWS IoT does not accept comments in rule SQL; this rule will not load on AWS
             --> <sql>:2:10
              |
            2 | FROM 't' /* all */ WHERE a > 1 -- big
              |          ^~~~~~~~~ remove its 2 comments before moving the rule to AWS

            """
        ),
    ])
    func commentsAreWarnings(_ sql: String, _ expected: String) throws {
        let statement = try Statement(sql)
        #expect(statement.warnings.allSatisfy { $0.severity == .warning })
        #expect(DiagnosticRenderer.render(statement.warnings, in: SourceText(name: "<sql>", text: sql)) == expected)
    }

    @Test(arguments: [
        (
            "SELECT uper(temp) FROM 'sensors/+'",
            """
            error: unknown function 'uper'
             --> <sql>:1:8
              |
            1 | SELECT uper(temp) FROM 'sensors/+'
              |        ^~~~ did you mean 'upper'?

            """
        ),
        (
            "SELECT temp FROM sensors/+",
            """
            error: expected a topic filter in quotes, found identifier 'sensors'
             --> <sql>:1:18
              |
            1 | SELECT temp FROM sensors/+
              |                  ^~~~~~~ enclose the topic filter in single quotes: FROM 'devices/+/telemetry'

            """
        ),
        (
            "SELECT temp FROM 'sensors/#/x'",
            """
            error: invalid topic filter: '#' must be the last level of a topic filter
             --> <sql>:1:27
              |
            1 | SELECT temp FROM 'sensors/#/x'
              |                           ^~~

            """
        ),
        (
            "SELECT a FROM 'a' WHERE a != 1",
            """
            error: expected an operator, found '!='
             --> <sql>:1:27
              |
            1 | SELECT a FROM 'a' WHERE a != 1
              |                           ^~ AWS IoT SQL writes 'not equal' as <>

            """
        ),
        (
            "SELECT a FROM 'a' WHERE a IS NULL",
            """
            error: expected an operator, found identifier 'IS'
             --> <sql>:1:27
              |
            1 | SELECT a FROM 'a' WHERE a IS NULL
              |                           ^~ AWS IoT SQL has no IS NULL; use isNull(x) or isUndefined(x)

            """
        ),
        (
            "SET @limit = 5 SELECT @limt FROM 'a'",
            """
            error: unknown variable '@limt'
             --> <sql>:1:23
              |
            1 | SET @limit = 5 SELECT @limt FROM 'a'
              |                       ^~~~~ did you mean '@limit'?

            """
        ),
        (
            "SELECT abs(1, 2), sqrt() FROM 'a'",
            """
            error: abs() takes 1 argument, but 2 were given
             --> <sql>:1:8
              |
            1 | SELECT abs(1, 2), sqrt() FROM 'a'
              |        ^~~~~~~~~

            error: sqrt() takes 1 argument, but 0 were given
             --> <sql>:1:19
              |
            1 | SELECT abs(1, 2), sqrt() FROM 'a'
              |                   ^~~~~~

            """
        ),
        (
            "SELECT cast(a AS Integr) FROM 'a'",
            """
            error: unknown cast type 'Integr'
             --> <sql>:1:18
              |
            1 | SELECT cast(a AS Integr) FROM 'a'
              |                  ^~~~~~ did you mean 'Integer'?

            """
        ),
        (
            "SELECT a\nFROM 'a'\nWHERE tmep > 1 AND uper(x) = 'A'",
            """
            error: unknown function 'uper'
             --> <sql>:3:20
              |
            3 | WHERE tmep > 1 AND uper(x) = 'A'
              |                    ^~~~ did you mean 'upper'?

            """
        ),
        (
            "SELECT a FROM 'a';",
            """
            error: expected end of the statement, found ';'
             --> <sql>:1:18
              |
            1 | SELECT a FROM 'a';
              |                  ^ a rule is a single statement; remove the ';'

            """
        ),
        (
            "SELECT 1a FROM 'a'",
            """
            error: invalid number literal
             --> <sql>:1:8
              |
            1 | SELECT 1a FROM 'a'
              |        ^~ identifiers cannot start with a digit; quote the name with backquotes

            """
        ),
    ])
    func rendered(_ sql: String, _ expected: String) {
        #expect(diagnostics(sql) == expected)
    }

    @Test func cloudOnlyFunctionsSayWhy() {
        let text = diagnostics("SELECT aws_lambda('arn:aws:lambda:us-east-1:1:function:f', *) FROM 'a'")
        #expect(text.hasPrefix("error: function 'aws_lambda' is not available in Signalbox\n"))
        for name in [
            "get_dynamodb('t','k','v','r')", "get_secret('a','b','c','d')", "machinelearning_predict('m','r',*)",
        ] {
            #expect(diagnostics("SELECT \(name) FROM 'a'").contains("is not available in Signalbox"), "\(name)")
        }
    }

    @Test func nestingIsBoundedWithoutCrashing() {
        let deep =
            "SELECT a FROM 'a' WHERE " + String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100)
        #expect(diagnostics(deep).hasPrefix("error: expression nested more than 64 levels deep"))
        let fine =
            "SELECT a FROM 'a' WHERE " + String(repeating: "(", count: 60) + "1" + String(repeating: ")", count: 60)
        #expect(diagnostics(fine) == "")
        let chain = "SELECT " + Array(repeating: "1", count: 5000).joined(separator: " + ") + " AS x FROM 'a'"
        #expect(diagnostics(chain).hasPrefix("error: expression too long"))
        let path = "SELECT " + Array(repeating: "a", count: 5000).joined(separator: ".") + " FROM 'a'"
        #expect(diagnostics(path).hasPrefix("error: expression too long"))
    }

    @Test func everyResolutionErrorIsReported() {
        let text = diagnostics("SELECT avrg(a), @x, floor(1, 2), nope(b) FROM 'a' WHERE uper(b) = 1")
        #expect(text.components(separatedBy: "\nerror: ").count == 5, "\(text)")
    }
}

extension String {
    fileprivate func components(separatedBy separator: String) -> [Substring] {
        var parts: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            parts.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        parts.append(rest)
        return parts
    }
}
