import ArgumentParser
import Foundation
import SignalboxConfig
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxStore

/// `signalbox test FILE --topic T --payload JSON|@file`: which rules a message fires, and why not.
///
/// Nothing is executed: actions are shown with their parameters, templates expanded.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Show which rules a message matches, their outputs and their actions' parameters.",
        discussion: """
            Nothing is executed. For every rule whose FROM matches the topic but whose WHERE is not \
            true, shows the value of each condition in the WHERE and why it is not true.
            """)

    @Argument(help: "The rules file.")
    var file: String

    @Option(help: "The topic the message is published to.")
    var topic: String

    @Option(help: "The payload: JSON text, or @PATH to read it (any bytes) from a file.")
    var payload: String = ""

    @Option(help: "The publisher's MQTT client id (clientid()).")
    var clientid: String?

    @Option(help: "The publisher's identity (principal()).")
    var principal: String?

    @Option(help: "The receive time in milliseconds since the epoch (timestamp()); now by default.")
    var timestamp: Int64?

    @Option(
        name: .customLong("shadow"),
        help: "A shadow document for get_shadow(): THING=JSON or THING=@PATH; repeat for more things.")
    var shadows: [String] = []

    @Option(help: "A data directory whose shadow store get_shadow() reads (after any --shadow documents).")
    var data: String?

    func run() throws {
        let loaded: LoadedRules
        do {
            loaded = try RulesLoader().load(path: file)
        } catch {
            print(error.rendered(), terminator: "")
            throw ExitCode(1)
        }
        let bytes = try readPayload()
        var lookup = InMemoryShadowLookup()
        for entry in shadows {
            let (thing, document) = try parseShadow(entry)
            lookup.set(thing: thing, document: document)
        }
        do {
            try TopicName.validate(topic)
        } catch {
            throw ValidationError("invalid --topic: \(error.message)")
        }
        let message = Message(
            topic: topic, payload: bytes, clientID: clientid, principal: principal,
            timestamp: timestamp ?? SystemClock.milliseconds())
        var services = EvaluationServices(shadows: lookup)
        if let data {
            guard FileManager.default.fileExists(atPath: data + "/" + AppDatabase.fileName) else {
                throw ValidationError("no Signalbox data in '\(data)'")
            }
            let database: AppDatabase
            do {
                database = try AppDatabase(directory: data)
            } catch {
                throw ValidationError("cannot open the data directory '\(data)': \(error)")
            }
            let stored = StoredShadowLookup(storage: SQLiteShadowStorage(database: database))
            services.shadows = LayeredShadowLookup(first: lookup, then: stored)
        }
        let report = TestReport(ruleSet: loaded.ruleSet, services: services)
        print(report.render(message), terminator: "")
    }

    func readPayload() throws -> [UInt8] {
        guard payload.hasPrefix("@") else { return Array(payload.utf8) }
        let path = String(payload.dropFirst())
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the payload file '\(path)'")
        }
        return Array(data)
    }

    func parseShadow(_ entry: String) throws -> (String, Value) {
        guard let equals = entry.firstIndex(of: "=") else {
            throw ValidationError("--shadow takes THING=JSON or THING=@PATH")
        }
        let thing = String(entry[..<equals])
        var text = String(entry[entry.index(after: equals)...])
        if text.hasPrefix("@") {
            let path = String(text.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read the shadow file '\(path)'")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        do {
            return (thing, try JSONParser.parse(text))
        } catch {
            throw ValidationError("the shadow document for '\(thing)' is not valid JSON: \(error.description)")
        }
    }
}

/// The text `signalbox test` prints for one message.
struct TestReport {
    let ruleSet: RuleSet
    let services: EvaluationServices

    func render(_ message: Message) -> String {
        var out = ""
        let kind = message.isJSON ? "JSON" : message.rawPayload.isEmpty ? "empty" : "binary"
        out += "message: \(message.topic) (\(message.rawPayload.count) bytes, \(kind))\n"
        let candidates = ruleSet.candidates(forTopic: message.topic)
        let candidateNames = Set(candidates.map(\.name))
        var matched = 0
        for rule in candidates {
            out += "\n"
            if renderRule(rule, message, into: &out) { matched += 1 }
        }
        let others = ruleSet.rules.filter { !candidateNames.contains($0.name) }
        if !others.isEmpty {
            out += "\n"
            for rule in others {
                if rule.isEnabled {
                    out += "- \(rule.name): FROM '\(rule.topicFilter)' does not match the topic\n"
                } else {
                    out += "- \(rule.name): disabled\n"
                }
            }
        }
        out += "\n\(matched) of \(ruleSet.rules.count) rules matched.\n"
        return out
    }

    /// Renders one candidate rule; returns whether it matched.
    func renderRule(_ rule: Rule, _ message: Message, into out: inout String) -> Bool {
        let frame = rule.statement.makeFrame(for: message, services: services)
        let output: Output?
        do {
            output = try rule.statement.evaluate(in: frame)
        } catch {
            let text = (error as? EvaluationError)?.message ?? "evaluation failed"
            out += "✗ \(rule.name): evaluation failed: \(text)\n"
            if let errorAction = rule.errorAction {
                out += "    the error action (\(errorAction.function)) would run\n"
            }
            return false
        }
        guard let output else {
            out += "✗ \(rule.name): WHERE is not true\n"
            for report in rule.statement.explainCondition(in: frame) {
                let indent = String(repeating: "  ", count: report.depth + 2)
                out += "\(indent)\(report.text)  → \(describe(report.value))\n"
                for reason in report.reasons { out += "\(indent)  because \(reason)\n" }
            }
            return false
        }
        out += "✓ \(rule.name)\n"
        switch output {
        case .json(let value): out += "    output: \(JSONSerializer.string(value))\n"
        case .binary(let bytes): out += "    output: \(bytes.count) bytes, not JSON (base64: \(Base64.encode(bytes)))\n"
        }
        for action in rule.actions {
            out += "    action \((action.index ?? 0) + 1): \(action.function)"
            if let policy = action.definition.throttle {
                let key = (try? action.throttleKey?.render(in: frame)) ?? nil
                out += "  (throttled: once per \(DurationSyntax.format(policy.per))"
                if let key { out += " per key \"\(key)\"" }
                out += ")"
            }
            out += "\n"
            do {
                let parameters = try action.config.render(in: frame)
                if case .object(let object) = parameters {
                    let secret = Self.environmentKeys(action.definition.with)
                    for member in object {
                        let shown =
                            secret.contains(member.key)
                            ? "(from the environment, not shown)" : JSONSerializer.string(member.value)
                        out += "      \(member.key): \(shown)\n"
                    }
                } else {
                    out += "      \(JSONSerializer.string(parameters))\n"
                }
            } catch {
                out += "      parameters failed: \((error as? EvaluationError)?.message ?? "evaluation failed")\n"
            }
        }
        return true
    }

    /// Top-level `with:` keys whose value contains an `${env:…}` reference: possibly a secret.
    static func environmentKeys(_ config: ConfigValue) -> Set<String> {
        guard case .map(let entries) = config.kind else { return [] }
        var keys = Set<String>()
        for entry in entries where containsSubstitution(entry.value) { keys.insert(entry.key.value) }
        return keys
    }

    static func containsSubstitution(_ value: ConfigValue) -> Bool {
        switch value.kind {
        case .string(let string): !string.substitutions.isEmpty
        case .array(let items): items.contains(where: containsSubstitution)
        case .map(let entries): entries.contains { containsSubstitution($0.value) }
        default: false
        }
    }

    func describe(_ value: Value?) -> String {
        guard let value else { return "Undefined" }
        switch value {
        case .bool(let b): return b ? "true" : "false"
        case .null: return "Null"
        case .int, .double: return "a number, not a Boolean"
        case .string: return "a String, not a Boolean"
        case .array: return "an Array, not a Boolean"
        case .object: return "an Object, not a Boolean"
        }
    }
}

/// `--shadow` documents first, then the data directory's store.
struct LayeredShadowLookup: ShadowLookup {
    var first: InMemoryShadowLookup
    var then: StoredShadowLookup

    func shadowDocument(thing: String, shadowName: String?) throws -> Value? {
        if let document = try first.shadowDocument(thing: thing, shadowName: shadowName) { return document }
        return try then.shadowDocument(thing: thing, shadowName: shadowName)
    }
}
