import SignalboxCore
import SignalboxSQL
import Testing

/// `needy`: requires `need`, allows `note` as fixed text.
private struct NeedyHandler: HandlerFunction {
    static let name = "needy"

    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["need", "note"])
        try config.requireKeys(["need"])
        _ = try config.isString("need")
        _ = try config.constantString("note")
    }

    func invoke(_ invocation: Invocation) async throws {}
}

/// Compiling with handlers checks every action's settings in the same pass as the SQL, without
/// reporting one problem twice.
struct RuleSetHandlerCheckTests {
    static let handlers = HandlerRegistry([NeedyHandler.self])

    static func compile(_ sql: String, _ actions: [ActionDefinition]) -> [String] {
        let document = RulesDocument(rules: [
            RuleDefinition(name: "r", sql: LocatedString(sql), actions: actions)
        ])
        // Sorted: diagnostics are ordered by place, and strings written in code have none in common.
        return RuleSet.compile(document, handlers: handlers).diagnostics.map(\.message).sorted()
    }

    @Test func settingsAreCheckedWithTheSQLInOnePass() {
        let messages = Self.compile(
            "SELECT nope(temp) FROM 'a'",
            [ActionDefinition(function: "needy", with: ["note": "x"]), ActionDefinition(function: "no-such")])
        #expect(
            messages
                == [
                    "unknown function 'nope'", "'needy' needs 'need' under 'with'",
                    "there is no handler function named 'no-such'",
                ].sorted())
    }

    @Test func actionsOfARuleWhoseSQLDoesNotParseAreChecked() {
        // Unknown variables are not reported (the broken SET may define them); the rest is.
        let messages = Self.compile(
            "SET @limit = SELECT temp FROM 'a'",
            [ActionDefinition(function: "needy", with: ["need": "${@limit}", "note": "${"])])
        #expect(
            messages
                == [
                    "expected an expression, found 'SELECT'", "unterminated '${' in substitution template",
                    "'note' must be fixed text; it cannot use ${…}",
                ].sorted())
    }

    @Test func aBrokenTemplateStillLetsTheHandlerCheckTheOtherSettings() {
        let messages = Self.compile(
            "SELECT * FROM 'a'", [ActionDefinition(function: "needy", with: ["nede": "x", "need": "${nope(1)}"])])
        #expect(messages == ["unknown function 'nope'", "'needy' has no setting 'nede'"].sorted())
    }

    @Test func aMisspeltFunctionNameIsNotReportedAsAnUnknownHandler() {
        #expect(
            Self.compile("SELECT * FROM 'a'", [ActionDefinition(function: "Needy")]) == [
                "invalid handler function name"
            ])
    }

    @Test func unreadableSettingsAreNotCheckedAgain() {
        var action = ActionDefinition(function: "needy")
        action.isConfigReadable = false
        #expect(Self.compile("SELECT * FROM 'a'", [action]).isEmpty)
    }

    @Test func withoutHandlersSettingsAreNotChecked() {
        let document = RulesDocument(rules: [
            RuleDefinition(name: "r", sql: "SELECT * FROM 'a'", actions: [ActionDefinition(function: "no-such")])
        ])
        #expect(RuleSet.compile(document).diagnostics.isEmpty)
    }
}
