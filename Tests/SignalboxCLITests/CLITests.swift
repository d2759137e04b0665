import Testing

/// End-to-end tests of the `signalbox` executable against golden files.
struct CLITests {
    static let fridgeTopic = "gateways/gw-01/devices/fridge-7/telemetry"

    @Test func checkAcceptsTheShippedRules() async throws {
        let result = try await CLI.runAsync(["check", "rules.yaml"])
        #expect(result.status == 0)
        try CLI.assertGolden(result.stdout, "check-rules.out")
    }

    @Test func checkReportsEveryErrorInTheFile() async throws {
        let result = try await CLI.runAsync(["check", "Tests/SignalboxCLITests/Golden/broken-rules.yaml"])
        #expect(result.status == 1)
        try CLI.assertGolden(result.stdout, "check-broken-rules.out")
    }

    /// Broken SQL, an unknown key, an unknown handler and handlers missing settings: one run reports
    /// every one (the actions of the rule whose SQL is broken included), each with its line, column
    /// and caret, and ends with the summary line; nothing is reported twice.
    @Test func checkReportsTheErrorsOfEveryStageInOneRun() async throws {
        let result = try await CLI.runAsync(["check", "Tests/SignalboxCLITests/Golden/every-stage-rules.yaml"])
        #expect(result.status == 1)
        #expect(result.stdout.hasSuffix("error: Tests/SignalboxCLITests/Golden/every-stage-rules.yaml has 8 errors\n"))
        try CLI.assertGolden(result.stdout, "check-every-stage-rules.out")
    }

    @Test func checkOfAMissingFileFails() async throws {
        let result = try await CLI.runAsync(["check", "no/such/rules.yaml"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("no/such/rules.yaml"))
    }

    @Test func testShowsWhyARuleDidNotFire() async throws {
        let result = try await CLI.runAsync([
            "test", "rules.yaml", "--topic", Self.fridgeTopic, "--payload", #"{"temp": 9.5, "battery": 81}"#,
            "--timestamp", "1700000000000",
        ])
        #expect(result.status == 0)
        try CLI.assertGolden(result.stdout, "test-no-shadow.out")
    }

    @Test func testShowsActionsWithTemplatesExpanded() async throws {
        let result = try await CLI.runAsync(
            [
                "test", "rules.yaml", "--topic", Self.fridgeTopic, "--payload", #"{"temp": 9.5, "battery": 12}"#,
                "--timestamp", "1700000000000", "--shadow",
                #"fridge-7={"state":{"desired":{"maxTemp":5,"alertPhone":"+15550100"}}}"#,
            ], environment: ["SMS_AUTH_TOKEN": "secret-token-value"])
        #expect(result.status == 0)
        #expect(!result.stdout.contains("secret-token-value"))
        try CLI.assertGolden(result.stdout, "test-alert.out")
    }

    @Test func testExplainsAMissingShadowField() async throws {
        let result = try await CLI.runAsync([
            "test", "rules.yaml", "--topic", Self.fridgeTopic, "--payload", #"{"temp": 2, "battery": "low"}"#,
            "--timestamp", "1700000000000", "--shadow", #"fridge-7={"state":{"desired":{"alertPhone":"+15550100"}}}"#,
        ])
        #expect(result.status == 0)
        try CLI.assertGolden(result.stdout, "test-missing-field.out")
    }

    @Test func testOfAnUnmatchedTopicListsEveryRule() async throws {
        let result = try await CLI.runAsync(["test", "rules.yaml", "--topic", "other/topic", "--payload", "{}"])
        #expect(result.status == 0)
        try CLI.assertGolden(result.stdout, "test-other-topic.out")
    }

    @Test func testRejectsAWildcardTopic() async throws {
        let result = try await CLI.runAsync(["test", "rules.yaml", "--topic", "a/+/b", "--payload", "{}"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("invalid --topic"))
    }

    @Test func evalAnswersEveryCaseInOrder() async throws {
        let input = try CLI.golden("eval-cases.jsonl")
        let result = try await CLI.runAsync(["eval"], stdin: input)
        #expect(result.status == 0)
        let inputLines = input.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
        let outputLines = result.stdout.split(separator: "\n")
        #expect(outputLines.count == inputLines.count)
        try CLI.assertGolden(result.stdout, "eval-cases.out.jsonl")
    }
}
