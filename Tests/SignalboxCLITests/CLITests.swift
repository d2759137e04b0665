import Testing

/// End-to-end tests of the `signalbox` executable against golden files.
struct CLITests {
    static let fridgeTopic = "gateways/gw-01/devices/fridge-7/telemetry"

    @Test func checkAcceptsTheShippedRules() throws {
        let result = try CLI.run(["check", "rules.yaml"])
        #expect(result.status == 0)
        try CLI.assertGolden(result.stdout, "check-rules.out")
    }

    @Test func checkReportsEveryErrorInTheFile() throws {
        let result = try CLI.run(["check", "Tests/SignalboxCLITests/Golden/broken-rules.yaml"])
        #expect(result.status == 1)
        try CLI.assertGolden(result.stdout, "check-broken-rules.out")
    }

    @Test func checkOfAMissingFileFails() throws {
        let result = try CLI.run(["check", "no/such/rules.yaml"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("no/such/rules.yaml"))
    }

    @Test func testShowsWhyARuleDidNotFire() throws {
        let result = try CLI.run([
            "test", "rules.yaml", "--topic", Self.fridgeTopic, "--payload", #"{"temp": 9.5, "battery": 81}"#,
            "--timestamp", "1700000000000",
        ])
        #expect(result.status == 0)
        try CLI.assertGolden(result.stdout, "test-no-shadow.out")
    }

    @Test func testShowsActionsWithTemplatesExpanded() throws {
        let result = try CLI.run(
            [
                "test", "rules.yaml", "--topic", Self.fridgeTopic, "--payload", #"{"temp": 9.5, "battery": 12}"#,
                "--timestamp", "1700000000000", "--shadow",
                #"fridge-7={"state":{"desired":{"maxTemp":5,"alertPhone":"+15550100"}}}"#,
            ], environment: ["SMS_AUTH_TOKEN": "secret-token-value"])
        #expect(result.status == 0)
        #expect(!result.stdout.contains("secret-token-value"))
        try CLI.assertGolden(result.stdout, "test-alert.out")
    }

    @Test func testExplainsAMissingShadowField() throws {
        let result = try CLI.run([
            "test", "rules.yaml", "--topic", Self.fridgeTopic, "--payload", #"{"temp": 2, "battery": "low"}"#,
            "--timestamp", "1700000000000", "--shadow", #"fridge-7={"state":{"desired":{"alertPhone":"+15550100"}}}"#,
        ])
        #expect(result.status == 0)
        try CLI.assertGolden(result.stdout, "test-missing-field.out")
    }

    @Test func testOfAnUnmatchedTopicListsEveryRule() throws {
        let result = try CLI.run(["test", "rules.yaml", "--topic", "other/topic", "--payload", "{}"])
        #expect(result.status == 0)
        try CLI.assertGolden(result.stdout, "test-other-topic.out")
    }

    @Test func testRejectsAWildcardTopic() throws {
        let result = try CLI.run(["test", "rules.yaml", "--topic", "a/+/b", "--payload", "{}"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("invalid --topic"))
    }

    @Test func evalAnswersEveryCaseInOrder() throws {
        let input = try CLI.golden("eval-cases.jsonl")
        let result = try CLI.run(["eval"], stdin: input)
        #expect(result.status == 0)
        let inputLines = input.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
        let outputLines = result.stdout.split(separator: "\n")
        #expect(outputLines.count == inputLines.count)
        try CLI.assertGolden(result.stdout, "eval-cases.out.jsonl")
    }
}
