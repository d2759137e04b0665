import ArgumentParser
import SignalboxJSON
import SignalboxSQL

/// `signalbox eval`: a machine interface to the rule language, one JSON case per line.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate rule SQL against messages: JSON Lines in on stdin, one JSON line out per case.",
        discussion: """
            Each input line is a case:
              {"sql": S, "topic": T, "payload": <JSON> | "payload_b64": B, "clientid": C?,
               "principal": P?, "timestamp": MS?, "accountid": A?, "traceid": I?,
               "templates": {NAME: "…${expr}…"}?, "shadows": {THING: <shadow document>}?}
            A Basic Ingest topic ($aws/rules/RULE/TOPIC) invokes the statement whatever its FROM.
            Each output line is one of:
              {"matched": true, "output": <JSON>, "templates": {NAME: STRING}?}
              {"matched": true, "output_b64": B, …}        (the output is not JSON)
              {"matched": false, "reason": "topic" | "where"}
              {"error": {"kind": "parse" | "runtime", "message": M, "line": L, "column": C}}
            A bad line yields an error line and processing continues.
            """)

    func run() throws {
        var runner = EvalRunner()
        while let line = readLine(strippingNewline: true) {
            if line.allSatisfy(\.isWhitespace) { continue }
            print(runner.process(line))
        }
    }
}

/// Processes `eval` cases; compiled statements are cached by SQL text.
struct EvalRunner {
    var cache: [String: Result<Statement, DiagnosticList>] = [:]

    mutating func process(_ line: String) -> String {
        JSONSerializer.string(.object(evaluate(line)))
    }

    static func error(_ kind: String, _ message: String, line: Int, column: Int) -> JSONObject {
        [
            "error": [
                "kind": .string(kind), "message": .string(message), "line": .int(Int64(line)),
                "column": .int(Int64(column)),
            ]
        ]
    }

    mutating func statement(for sql: String) -> Result<Statement, DiagnosticList> {
        if let cached = cache[sql] { return cached }
        let result: Result<Statement, DiagnosticList>
        do {
            result = .success(try Statement(sql))
        } catch {
            result = .failure(error)
        }
        if cache.count > 1024 { cache.removeAll() }
        cache[sql] = result
        return result
    }

    mutating func evaluate(_ line: String) -> JSONObject {
        let input: Value
        do {
            input = try JSONParser.parse(line)
        } catch {
            return Self.error("parse", "invalid case: \(error.message)", line: error.line, column: error.column)
        }
        guard case .object(let fields) = input else {
            return Self.error("parse", "invalid case: expected a JSON object", line: 1, column: 1)
        }
        guard case .string(let sql) = fields["sql"] else {
            return Self.error("parse", "invalid case: \"sql\" must be a string", line: 1, column: 1)
        }
        guard case .string(let topic) = fields["topic"] else {
            return Self.error("parse", "invalid case: \"topic\" must be a string", line: 1, column: 1)
        }
        let payload: [UInt8]
        if let value = fields["payload"] {
            payload = JSONSerializer.bytes(value)
        } else if case .string(let encoded) = fields["payload_b64"] {
            guard let bytes = Base64.decode(encoded) else {
                return Self.error("parse", "invalid case: \"payload_b64\" is not valid base64", line: 1, column: 1)
            }
            payload = bytes
        } else {
            payload = []
        }
        var timestamp = WallClock.system.milliseconds()
        if case .int(let ms) = fields["timestamp"] { timestamp = ms }
        var shadows = GivenShadowDocuments()
        if case .object(let documents) = fields["shadows"] {
            for member in documents { shadows.set(thing: member.key, document: member.value) }
        }
        let message = Message(
            topic: topic, payload: payload, clientID: fields["clientid"].flatMap(Self.string),
            principal: fields["principal"].flatMap(Self.string), timestamp: timestamp,
            traceID: fields["traceid"].flatMap(Self.string), accountID: fields["accountid"].flatMap(Self.string))

        let statement: Statement
        switch self.statement(for: sql) {
        case .success(let compiled): statement = compiled
        case .failure(let list):
            return Self.diagnosticError(list, in: sql)
        }
        // A Basic Ingest topic names the rule to run, so its FROM is not consulted (as in AWS IoT).
        guard BasicIngestTopic(topic) != nil || statement.topicFilter.matches(topic) else {
            return ["matched": false, "reason": "topic"]
        }

        // Templates compile before evaluation so their errors are reported as parse errors.
        var templates: [(String, Template)] = []
        if case .object(let requested) = fields["templates"] {
            for member in requested {
                guard case .string(let text) = member.value else {
                    return Self.error(
                        "parse", "invalid case: template '\(member.key)' must be a string", line: 1, column: 1)
                }
                do {
                    templates.append((member.key, try statement.template(text)))
                } catch {
                    return Self.diagnosticError(error, in: text, prefix: "template '\(member.key)': ")
                }
            }
        }
        do {
            let evaluation = try statement.evaluate(message, services: EvaluationServices(shadows: shadows))
            guard let output = evaluation.output else { return ["matched": false, "reason": "where"] }
            var result: JSONObject = ["matched": true]
            switch output {
            case .json(let value): result["output"] = value
            case .binary(let bytes): result["output_b64"] = .string(Base64.encode(bytes))
            }
            if !templates.isEmpty {
                var rendered = JSONObject()
                for (name, template) in templates {
                    rendered[name] = .string(try template.render(in: evaluation.frame))
                }
                result["templates"] = .object(rendered)
            }
            return result
        } catch let error as EvaluationError {
            let (line, column) = SourceText(name: "", text: sql).location(of: error.range.start)
            return Self.error("runtime", error.message, line: line, column: column)
        } catch {
            return Self.error("runtime", "evaluation failed", line: 1, column: 1)
        }
    }

    static func string(_ value: Value) -> String? {
        if case .string(let s) = value { return s }
        return nil
    }

    static func diagnosticError(_ list: DiagnosticList, in text: String, prefix: String = "") -> JSONObject {
        guard let first = list.diagnostics.first else { return error("parse", "invalid statement", line: 1, column: 1) }
        let (line, column) = SourceText(name: "", text: text).location(of: first.range.start)
        var message = prefix + first.message
        if let help = first.help { message += " (\(help))" }
        return error("parse", message, line: line, column: column)
    }
}
