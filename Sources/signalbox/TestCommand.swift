import ArgumentParser
import Foundation
import SignalboxConfig
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxShadows
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

    @Option(help: "The account id accountid() returns; Undefined by default.")
    var accountid: String?

    @Option(help: "The trace id traceid() returns; Undefined by default.")
    var traceid: String?

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
        var lookup = GivenShadowDocuments()
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
            timestamp: timestamp ?? WallClock.system.milliseconds(), traceID: traceid, accountID: accountid)
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

/// The text `signalbox test` prints for one message (the evaluation is ``RuleTrial``'s).
struct TestReport {
    let ruleSet: RuleSet
    let services: EvaluationServices

    func render(_ message: Message) -> String {
        var out = ""
        let kind = message.isJSON ? "JSON" : message.rawPayload.isEmpty ? "empty" : "binary"
        out += "message: \(message.topic) (\(message.rawPayload.count) bytes, \(kind))\n"
        let trial = RuleTrial(ruleSet: ruleSet, message: message, services: services)
        for candidate in trial.candidates {
            out += "\n"
            renderCandidate(candidate, into: &out)
        }
        if !trial.others.isEmpty {
            out += "\n"
            let basicIngest = BasicIngestTopic(message.topic) != nil
            for other in trial.others {
                if other.enabled && basicIngest {
                    out += "- \(other.rule): not the rule the Basic Ingest topic names\n"
                } else if other.enabled {
                    out += "- \(other.rule): FROM '\(other.topicFilter)' does not match the topic\n"
                } else {
                    out += "- \(other.rule): disabled\n"
                }
            }
        }
        out += "\n\(trial.matchedCount) of \(trial.ruleCount) rules matched.\n"
        return out
    }

    /// Renders one candidate rule.
    func renderCandidate(_ candidate: RuleTrial.Candidate, into out: inout String) {
        switch candidate.result {
        case .failed(let error):
            out += "✗ \(candidate.rule): evaluation failed: \(error)\n"
            out += "    no action runs, not even the error action (it handles failed actions only, as in AWS IoT);\n"
            out += "    the server counts this in the rule's errors and logs it\n"
        case .notMatched(let conditions):
            out += "✗ \(candidate.rule): WHERE is not true\n"
            for report in conditions {
                let indent = String(repeating: "  ", count: report.depth + 2)
                out += "\(indent)\(report.text)  → \(RuleTrial.describe(report.value))\n"
                for reason in report.reasons { out += "\(indent)  because \(reason)\n" }
            }
        case .matched(let output, let actions):
            out += "✓ \(candidate.rule)\n"
            switch output {
            case .json(let value): out += "    output: \(JSONSerializer.string(value))\n"
            case .binary(let bytes):
                out += "    output: \(bytes.count) bytes, not JSON (base64: \(Base64.encode(bytes)))\n"
            }
            for action in actions { renderAction(action, into: &out) }
        }
    }

    func renderAction(_ action: RuleTrial.ActionTrial, into out: inout String) {
        out += "    action \(action.index + 1): \(action.function)"
        if let throttle = action.throttle {
            out += "  (throttled: once per \(DurationSyntax.format(throttle.per))"
            if let key = throttle.key { out += " per key \"\(key)\"" }
            out += ")"
        }
        out += "\n"
        guard let parameters = action.shownParameters else {
            out += "      parameters failed: \(action.failure ?? "evaluation failed")\n"
            return
        }
        if case .object(let object) = parameters {
            for member in object {
                let hidden = action.hiddenKeys.contains(member.key)
                out +=
                    "      \(member.key): \(hidden ? RuleTrial.hiddenParameter : JSONSerializer.string(member.value))\n"
            }
        } else {
            out += "      \(JSONSerializer.string(parameters))\n"
        }
    }
}

/// `--shadow` documents first, then the data directory's store.
struct LayeredShadowLookup: ShadowLookup {
    var first: GivenShadowDocuments
    var then: StoredShadowLookup

    func shadowDocument(thing: String, shadowName: String?) throws -> Value? {
        if let document = try first.shadowDocument(thing: thing, shadowName: shadowName) { return document }
        return try then.shadowDocument(thing: thing, shadowName: shadowName)
    }
}
