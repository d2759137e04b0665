import Foundation
import Testing

/// Where the rule language follows AWS IoT rather than plain MQTT or SQL, through the real binary.
struct AWSCompatibilityCLITests {
    /// Writes `yaml` to a rules file in a new temporary directory; returns the file's path.
    static func rulesFile(_ yaml: String) throws -> URL {
        let directory = try makeTemporaryDirectory()
        let file = directory.appendingPathComponent("rules.yaml")
        try Data(yaml.utf8).write(to: file)
        return file
    }

    @Test func checkWarnsThatARuleWithCommentsWillNotLoadOnAWSAndStillSucceeds() async throws {
        let file = try Self.rulesFile(
            """
            version: 1
            rules:
              - name: commented
                sql: SELECT temp /* celsius */ FROM 'sensor/+'
                actions:
                  - function: log
              - name: plain
                sql: SELECT temp FROM 'sensor/+'
                actions:
                  - function: log

            """)
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        let result = try await CLI.runAsync(["check", file.path])
        #expect(result.status == 0)
        #expect(
            result.stdout == """
                warning: AWS IoT does not accept comments in rule SQL; this rule will not load on AWS
                 --> \(file.path):4:22
                  |
                4 |     sql: SELECT temp /* celsius */ FROM 'sensor/+'
                  |                      ^~~~~~~~~~~~~ remove the comment before moving the rule to AWS

                \(file.path): 2 rules, 2 actions — OK

                """)
    }

    @Test func evalFollowsAWS() async throws {
        let cases: [(input: String, output: String)] = [
            // accountid() and traceid() come from the case.
            (
                #"{"sql": "SELECT accountid() AS a, traceid() AS t FROM '#'", "topic": "x", "payload": {}, "#
                    + #""accountid": "123456789012", "traceid": "42"}"#,
                #"{"matched":true,"output":{"a":"123456789012","t":"42"}}"#
            ),
            (
                #"{"sql": "SELECT accountid() AS a, traceid() AS t FROM '#'", "topic": "x", "payload": {}}"#,
                #"{"matched":true,"output":{}}"#
            ),
            // 'sensor/#' does not match 'sensor' (it does match 'sensor/').
            (
                #"{"sql": "SELECT * FROM 'sensor/#'", "topic": "sensor", "payload": {"a": 1}}"#,
                #"{"matched":false,"reason":"topic"}"#
            ),
            (
                #"{"sql": "SELECT * FROM 'sensor/#'", "topic": "sensor/", "payload": {"a": 1}}"#,
                #"{"matched":true,"output":{"a":1}}"#
            ),
            // A Basic Ingest topic runs the statement whatever its FROM; topic() lacks the prefix.
            (
                #"{"sql": "SELECT topic() AS t, topic(1) AS first FROM 'other/+'", "#
                    + #""topic": "$aws/rules/r/Buildings/B5/Lights", "payload": {}}"#,
                #"{"matched":true,"output":{"t":"Buildings/B5/Lights","first":"Buildings"}}"#
            ),
            // A nested SELECT over an object yields one value.
            (
                #"{"sql": "SELECT (SELECT a FROM o) AS x FROM 't'", "topic": "t", "payload": {"o": {"a": 1, "b": 2}}}"#,
                #"{"matched":true,"output":{"x":{"a":1}}}"#
            ),
        ]
        let result = try await CLI.runAsync(["eval"], stdin: cases.map(\.input).joined(separator: "\n") + "\n")
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n").map(String.init) == cases.map(\.output))
    }

    @Test func testRunsOnlyTheRuleABasicIngestTopicNames() async throws {
        let file = try Self.rulesFile(
            """
            version: 1
            rules:
              - name: named
                sql: SELECT topic() AS t, traceid() AS trace, accountid() AS account FROM 'never/+'
                actions:
                  - function: log
              - name: sensors
                sql: SELECT * FROM 'Buildings/#'
                actions:
                  - function: log

            """)
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        let result = try await CLI.runAsync([
            "test", file.path, "--topic", "$aws/rules/named/Buildings/B5", "--payload", "{}", "--traceid", "7",
            "--accountid", "123456789012",
        ])
        #expect(result.status == 0)
        #expect(
            result.stdout == """
                message: $aws/rules/named/Buildings/B5 (2 bytes, JSON)

                ✓ named
                    output: {"t":"Buildings/B5","trace":"7","account":"123456789012"}
                    action 1: log

                - sensors: not the rule the Basic Ingest topic names

                1 of 2 rules matched.

                """)
    }
}
