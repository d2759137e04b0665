import Foundation
import SignalboxCore
import SignalboxJSON
import Testing

@testable import SignalboxConfig

struct RulesLoaderTests {
    /// The package root, found from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func load(_ yaml: String, environment: [String: String] = [:]) throws -> LoadedRules {
        try RulesLoader(environment: environment).load(yaml: yaml, name: "rules.yaml")
    }

    static func rule(with action: String) -> String {
        "version: 1\nrules:\n  - name: r\n    sql: SELECT * FROM 'gateways/+/devices/+/telemetry'\n    actions:\n\(action)"
    }

    // MARK: The shipped rules file

    @Test func theShippedRulesFilePassesCheckWithoutEnvironment() {
        let path = Self.packageRoot.appendingPathComponent("rules.yaml").path
        let (output, isValid) = RulesLoader(environment: [:]).check(path: path)
        #expect(isValid)
        #expect(output == "\(path): 5 rules, 7 actions — OK\n")
    }

    @Test func theShippedRulesFileKeysFridgesByTopicLevelAndWatchesForSilence() throws {
        let path = Self.packageRoot.appendingPathComponent("rules.yaml").path
        let quiet = try RulesLoader(environment: [:]).load(path: path)
        #expect(quiet.document.devices == DevicePolicy(keyLevel: 4, silentAfter: .seconds(900)))
        let impatient = try RulesLoader(environment: ["FRIDGE_SILENT_AFTER": "3s"]).load(path: path)
        #expect(impatient.document.devices.silentAfter == .seconds(3))
    }

    @Test func theShippedRulesFileTellsTheColdChainStory() throws {
        let path = Self.packageRoot.appendingPathComponent("rules.yaml").path
        let loaded = try RulesLoader(environment: [:]).load(path: path)
        let ruleSet = loaded.ruleSet
        #expect(
            ruleSet.candidates(forTopic: "gateways/gw1/devices/fridge-7/telemetry").map(\.name) == [
                "store-readings", "fridge-too-warm", "low-battery", "report-to-shadow",
            ])
        let warm = try #require(ruleSet.rule(named: "fridge-too-warm"))
        let sms = try #require(warm.actions.first)
        #expect(sms.function == "notify-sms")
        #expect(sms.definition.throttle?.per == .seconds(3_600))
        #expect(sms.definition.retry == RetryPolicy(attempts: 5, backoff: .seconds(1) ... .seconds(300)))
        #expect(sms.definition.timeout == .seconds(10))
        #expect(warm.errorAction?.function == "persist")
        #expect(warm.statement.compiler.variableSlots["limit"] != nil)
    }

    // MARK: Reading files

    @Test func aMissingFileIsOneError() {
        let (output, isValid) = RulesLoader(environment: [:]).check(path: "/nonexistent/rules.yaml")
        #expect(!isValid)
        #expect(
            output == """
                error: cannot read '/nonexistent/rules.yaml': no such file
                 = help: pass the rules file's path, like 'signalbox check config/rules.yaml'

                error: /nonexistent/rules.yaml has 1 error

                """)
    }

    @Test func aSummaryCountsRulesActionsAndDisabledRules() throws {
        let yaml = """
            version: 1
            rules:
              - name: a
                sql: SELECT * FROM 'a'
                actions: [{ function: log }, { function: persist, with: { table: t } }]
              - name: b
                enabled: false
                sql: SELECT * FROM 'b'
                actions: [{ function: log }]
                error_action: { function: log }
            """
        #expect(try Self.load(yaml).summary == "rules.yaml: 2 rules (1 disabled), 3 actions — OK")
        let one = "version: 1\nrules:\n  - name: a\n    sql: SELECT * FROM 'a'\n    actions: [{ function: log }]\n"
        #expect(try Self.load(one).summary == "rules.yaml: 1 rule, 1 action — OK")
        #expect(try Self.load("version: 1\nrules: []\n").summary == "rules.yaml: 0 rules, 0 actions — OK")
    }

    // MARK: Defaults

    @Test func unsetKeysTakeTheirDefaults() throws {
        let loaded = try Self.load(Self.rule(with: "      - function: log\n"))
        let rule = try #require(loaded.document.rules.first)
        #expect(rule.enabled)
        #expect(rule.description == "")
        #expect(rule.errorAction == nil)
        let action = try #require(rule.actions.first)
        #expect(action.retry == RetryPolicy(attempts: 3, backoff: .seconds(1) ... .seconds(60)))
        #expect(action.timeout == .seconds(30))
        #expect(action.throttle == nil)
        #expect(action.with.entries?.isEmpty == true)
    }

    @Test func retryAndThrottleAreRead() throws {
        let action = """
                  - function: log
                    retry:
                      attempts: 7
                      backoff: 250ms..2m
                    throttle:
                      per: 5m
                    timeout: 1500ms

            """
        let definition = try #require(try Self.load(Self.rule(with: action)).document.rules.first?.actions.first)
        #expect(definition.retry == RetryPolicy(attempts: 7, backoff: .milliseconds(250) ... .seconds(120)))
        #expect(definition.throttle?.per == .seconds(300))
        #expect(definition.throttle?.key == nil)
        #expect(definition.timeout == .milliseconds(1_500))
    }

    @Test func anchorsAndAliasesShareValues() throws {
        let yaml = """
            version: 1
            rules:
              - name: a
                sql: SELECT * FROM 'a'
                actions:
                  - function: log
                    retry: &standard { attempts: 5, backoff: 1s..5m }
              - name: b
                sql: SELECT * FROM 'b'
                actions:
                  - function: log
                    retry: *standard
            """
        let rules = try Self.load(yaml).document.rules
        #expect(rules.map { $0.actions.first?.retry.attempts } == [5, 5])
    }

    // MARK: Values under with:

    @Test(arguments: [
        ("table", Value.string("table")),
        ("\"10\"", .string("10")),
        ("10", .int(10)),
        ("-3", .int(-3)),
        ("0x1F", .int(31)),
        ("0o17", .int(15)),
        ("1.5", .double(1.5)),
        ("1e3", .double(1000)),
        ("true", .bool(true)),
        ("False", .bool(false)),
        ("on", .string("on")),
        ("yes", .string("yes")),
        ("12:30", .string("12:30")),
        ("2024-01-01", .string("2024-01-01")),
        ("~", .null),
        ("null", .null),
        ("", .null),
        ("!!str 10", .string("10")),
        ("[1, a, { b: c }]", .array([.int(1), .string("a"), .object(["b": "c"])])),
        ("'it''s'", .string("it's")),
    ])
    func withValuesFollowTheYAMLCoreSchema(text: String, expected: Value) throws {
        let loaded = try Self.load(Self.rule(with: "      - function: log\n        with:\n          x: \(text)\n"))
        let with = try #require(loaded.document.rules.first?.actions.first?.with)
        #expect(with.json == ["x": expected])
    }

    // MARK: Environment

    @Test(arguments: [
        ("${env:TOKEN}", ["TOKEN": "abc"], "abc"),
        ("Bearer ${env:TOKEN}!", ["TOKEN": "abc"], "Bearer abc!"),
        ("${env:A}${env:B}", ["A": "1", "B": "2"], "12"),
        ("${env:MISSING:-fallback}", [:], "fallback"),
        ("${env:EMPTY:-fallback}", ["EMPTY": ""], "fallback"),
        ("${env:SET:-fallback}", ["SET": "value"], "value"),
        ("${env:MISSING:-}", [:], ""),
        ("${env:EMPTY}", ["EMPTY": ""], ""),
        ("no reference", [:], "no reference"),
        ("$env:NOT_A_REFERENCE", [:], "$env:NOT_A_REFERENCE"),
    ])
    func environmentReferencesAreReplaced(text: String, environment: [String: String], expected: String) throws {
        let yaml = Self.rule(with: "      - function: log\n        with:\n          x: \"\(text)\"\n")
        let loaded = try Self.load(yaml, environment: environment)
        #expect(loaded.document.rules.first?.actions.first?.with["x"]?.string == expected)
    }

    @Test func environmentReferencesWorkInSQLDurationsAndNames() throws {
        let yaml = """
            version: 1
            rules:
              - name: ${env:PREFIX}-warm
                sql: SELECT * FROM '${env:ROOT}/+' WHERE temp > ${env:LIMIT}
                actions:
                  - function: ${env:HANDLER}
                    timeout: ${env:TIMEOUT}
            """
        let environment = ["PREFIX": "fridge", "ROOT": "devices", "LIMIT": "8", "HANDLER": "log", "TIMEOUT": "5s"]
        let loaded = try Self.load(yaml, environment: environment)
        let rule = try #require(loaded.ruleSet.rules.first)
        #expect(rule.name == "fridge-warm")
        #expect(rule.topicFilter.text == "devices/+")
        #expect(rule.actions.first?.function == "log")
        #expect(rule.actions.first?.definition.timeout == .seconds(5))
    }

    @Test func environmentValuesNeverAppearInErrors() {
        let secret = "hunter2-secret"
        let yaml = """
            version: 1
            rules:
              - name: r
                sql: SELECT * FROM 'a' WHERE x = ${env:S}
                actions:
                  - function: ${env:S}
                    timeout: ${env:S}
                    retry: { backoff: "${env:S}" }
                    throttle: { per: "1${env:S}" }
                    with: { t: "${upper(${env:S})}" }
            """
        let (output, isValid) = RulesLoader(environment: ["S": secret]).check(yaml: yaml, name: "rules.yaml")
        #expect(!isValid)
        #expect(output.contains("environment variable 'S'"))
        #expect(!output.contains("hunter2"))
    }

    @Test func everyMissingVariableIsReported() {
        let yaml = Self.rule(
            with: "      - function: log\n        with: { a: \"${env:A}\", b: \"${env:B} ${env:C:-c}\" }\n")
        #expect {
            try Self.load(yaml)
        } throws: { error in
            (error as? RulesError)?.diagnostics.map(\.message) == [
                "environment variable 'A' is not set", "environment variable 'B' is not set",
            ]
        }
    }
}
