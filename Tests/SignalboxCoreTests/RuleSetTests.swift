import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import Testing

struct RuleSetTests {
    static func rule(
        _ name: LocatedString, _ sql: LocatedString, enabled: Bool = true, actions: [ActionDefinition]? = nil,
        errorAction: ActionDefinition? = nil
    ) -> RuleDefinition {
        RuleDefinition(
            name: name, enabled: enabled, sql: sql, actions: actions ?? [ActionDefinition(function: "log")],
            errorAction: errorAction)
    }

    static let document = RulesDocument(rules: [
        rule("all-telemetry", "SELECT * FROM 'gateways/+/devices/+/telemetry'"),
        rule("one-gateway", "SELECT * FROM 'gateways/gw1/#'"),
        rule("disabled", "SELECT * FROM 'gateways/#'", enabled: false),
        rule("status", "SELECT * FROM 'gateways/+/devices/+/status'"),
        rule("everything", "SELECT * FROM '#'"),
        rule("shadow-documents", "SELECT * FROM '$aws/things/+/shadow/update/documents'"),
    ])

    @Test(arguments: [
        ("gateways/gw1/devices/f1/telemetry", ["all-telemetry", "one-gateway", "everything"]),
        ("gateways/gw2/devices/f1/telemetry", ["all-telemetry", "everything"]),
        ("gateways/gw2/devices/f1/status", ["status", "everything"]),
        // AWS IoT: 'gateways/gw1/#' matches 'gateways/gw1/' but not 'gateways/gw1'.
        ("gateways/gw1", ["everything"]), ("gateways/gw1/", ["one-gateway", "everything"]),
        ("$aws/things/f1/shadow/update/documents", ["shadow-documents"]),
        ("other", ["everything"]),
        // Basic Ingest invokes the enabled rule it names, alone, whatever that rule's FROM.
        ("$aws/rules/status/gateways/gw1/devices/f1/telemetry", ["status"]),
        ("$aws/rules/shadow-documents/other", ["shadow-documents"]),
        ("$aws/rules/disabled/gateways/gw1", []), ("$aws/rules/missing/other", []),
        ("$aws/rules/Status/gateways/gw1/devices/f1/status", []),
    ])
    func candidatesAreEnabledMatchingRulesInFileOrder(topic: String, expected: [String]) throws {
        let ruleSet = try RuleSet(Self.document)
        #expect(ruleSet.candidates(forTopic: topic).map(\.name) == expected)
    }

    @Test func disabledRulesAreCompiledButNeverCandidates() throws {
        let ruleSet = try RuleSet(Self.document)
        #expect(ruleSet.rules.count == 6)
        #expect(ruleSet.enabledCount == 5)
        let disabled = try #require(ruleSet.rule(named: "disabled"))
        #expect(!disabled.isEnabled)
        #expect(disabled.topicFilter.text == "gateways/#")
    }

    @Test func disabledRulesAreStillChecked() {
        let document = RulesDocument(rules: [Self.rule("off", "SELECT nope(1) FROM 'a'", enabled: false)])
        #expect(throws: RulesError.self) { try RuleSet(document) }
    }

    @Test func templatesSeeThePayloadFunctionsAndSetVariables() throws {
        let action = ActionDefinition(
            function: "notify-sms",
            with: [
                "to": "${get_shadow(topic(4)).state.desired.alertPhone}",
                "body": "Fridge ${topic(4)} is at ${temp} C (limit ${@limit} C)",
                "retries": 2, "urgent": true, "tags": ["cold-chain", "${topic(2)}"], "note": nil,
            ],
            throttle: ThrottlePolicy(key: "${topic(4)}", per: .seconds(3_600)))
        let sql: LocatedString = """
            SET @limit = get_shadow(topic(4)).state.desired.maxTemp
            SELECT temp FROM 'gateways/+/devices/+/telemetry' WHERE temp > @limit
            """
        let ruleSet = try RuleSet(RulesDocument(rules: [Self.rule("too-warm", sql, actions: [action])]))
        let rule = try #require(ruleSet.rules.first)
        var shadows = GivenShadowDocuments()
        shadows.set(thing: "f1", document: ["state": ["desired": ["maxTemp": 8, "alertPhone": "+15550100"]]])
        let message = Message(topic: "gateways/gw1/devices/f1/telemetry", json: ["temp": 9.5], timestamp: 0)
        let evaluation = try rule.statement.evaluate(message, services: EvaluationServices(shadows: shadows))
        #expect(evaluation.matched)
        let compiled = try #require(rule.actions.first)
        let config = try compiled.config.render(in: evaluation.frame)
        let expected: Value = [
            "to": "+15550100", "body": "Fridge f1 is at 9.5 C (limit 8 C)", "retries": 2, "urgent": true,
            "tags": ["cold-chain", "gw1"], "note": nil,
        ]
        #expect(config == expected)
        #expect(try compiled.throttleKey?.render(in: evaluation.frame) == "f1")
        #expect(compiled.function == "notify-sms")
        #expect(compiled.index == 0)
        #expect(!compiled.config.isConstant)
    }

    @Test func errorActionTemplatesCompileAgainstTheRule() throws {
        let errorAction = ActionDefinition(function: "persist", with: ["table": "errors", "device": "${topic(2)}"])
        let ruleSet = try RuleSet(
            RulesDocument(rules: [Self.rule("r", "SELECT * FROM 'devices/+'", errorAction: errorAction)]))
        let compiled = try #require(ruleSet.rules.first?.errorAction)
        #expect(compiled.index == nil)
        let frame = try #require(ruleSet.rules.first).statement.makeFrame(
            for: Message(topic: "devices/d7", json: [:], timestamp: 0))
        #expect(try compiled.config.render(in: frame) == ["table": "errors", "device": "d7"])
    }

    @Test func buildingCollectsEveryErrorOfEveryRule() {
        let document = RulesDocument(rules: [
            Self.rule("bad sql", "SELECT avrg(temp) FROM 'a' WHERE x >"),
            Self.rule(
                "bad-template", "SELECT * FROM 'a'",
                actions: [ActionDefinition(function: "log", with: ["m": "${nope(1)}", "n": "${"])]),
            Self.rule("bad-function", "SELECT * FROM 'a/#/b'", actions: [ActionDefinition(function: "Log")]),
            Self.rule("bad-template", "SELECT * FROM 'b'"),
        ])
        let (ruleSet, diagnostics) = RuleSet.compile(document)
        #expect(ruleSet == nil)
        #expect(
            diagnostics.map(\.code).sorted() == [
                "duplicate-rule", "function-name", "parse", "rule-name", "template", "topic-filter", "unknown-function",
            ])
        #expect(Set(diagnostics.compactMap(\.ruleName)) == ["bad sql", "bad-template", "bad-function"])
    }

    @Test func templatesAreCheckedEvenWhenTheSqlIsBroken() {
        let action = ActionDefinition(function: "log", with: ["a": "${@limit}", "b": "${@limt}"])
        let document = RulesDocument(rules: [
            Self.rule("r", "SET @limit = 1 SELECT nope(temp) FROM 'a'", actions: [action])
        ])
        let (_, diagnostics) = RuleSet.compile(document)
        #expect(diagnostics.map(\.message) == ["unknown variable '@limt'", "unknown function 'nope'"])
    }

    @Test(arguments: ["a", "fridge-too-warm", "Rule_2", String(repeating: "x", count: 128)])
    func acceptsRuleNames(name: String) throws {
        _ = try RuleSet(RulesDocument(rules: [Self.rule(LocatedString(name), "SELECT * FROM 'a'")]))
    }

    @Test(arguments: [
        ("", "the rule name is empty"),
        ("fridge too warm", "a rule name may only contain letters, digits, '_' and '-'"),
        ("fridge.warm", "a rule name may only contain letters, digits, '_' and '-'"),
        ("kühl", "a rule name may only contain letters, digits, '_' and '-'"),
        (String(repeating: "x", count: 129), "the rule name is longer than 128 characters"),
    ])
    func rejectsRuleNames(name: String, message: String) {
        let (_, diagnostics) = RuleSet.compile(
            RulesDocument(rules: [Self.rule(LocatedString(name), "SELECT * FROM 'a'")]))
        #expect(diagnostics.map(\.message) == [message])
    }

    @Test(arguments: ["persist", "notify-sms", "shadow-update", "s3-v2"])
    func acceptsHandlerFunctionNames(name: String) throws {
        let action = ActionDefinition(function: LocatedString(name))
        _ = try RuleSet(RulesDocument(rules: [Self.rule("r", "SELECT * FROM 'a'", actions: [action])]))
    }

    @Test(arguments: [
        ("", "the handler function name is empty", "name a handler, like persist"),
        ("notify_sms", "invalid handler function name", "did you mean 'notify-sms'?"),
        ("Persist", "invalid handler function name", "did you mean 'persist'?"),
        ("notify sms", "invalid handler function name", "handler names use lowercase letters, digits and '-'"),
    ])
    func rejectsHandlerFunctionNames(name: String, message: String, help: String) {
        let action = ActionDefinition(function: LocatedString(name))
        let (_, diagnostics) = RuleSet.compile(
            RulesDocument(rules: [Self.rule("r", "SELECT * FROM 'a'", actions: [action])]))
        #expect(diagnostics.map(\.message) == [message])
        #expect(diagnostics.map(\.diagnostic.help) == [help])
    }

    @Test func theErrorNamesTheFileAndCountsErrors() {
        let document = RulesDocument(rules: [Self.rule("a b", "SELECT nope() FROM 'a'")])
        #expect {
            try RuleSet(document, fileName: "rules.yaml")
        } throws: { error in
            (error as? RulesError)?.summary == "rules.yaml has 2 errors"
        }
    }
}
