import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// Evaluates `sql` against a message and returns the output (nil when WHERE is not true).
func run(
    _ sql: String, payload: String = "{}", topic: String = "t", services: EvaluationServices = EvaluationServices(),
    clientID: String? = nil
) throws -> Output? {
    let statement = try Statement(sql)
    let message = Message(topic: topic, payload: Array(payload.utf8), clientID: clientID, timestamp: 1_700_000_000_000)
    return try statement.evaluate(message, services: services).output
}

/// The value of one expression for a payload (Undefined is nil).
func value(_ expression: String, payload: String = "{}", topic: String = "t") throws -> Value? {
    guard let output = try run("SELECT VALUE \(expression) FROM '#'", payload: payload, topic: topic) else {
        Issue.record("WHERE-less statement did not produce output")
        return nil
    }
    switch output {
    case .json(let value): return value
    case .binary(let bytes):
        #expect(bytes.isEmpty, "binary output for an expression")
        return nil
    }
}

/// Parses a JSON literal for expectations.
func json(_ text: String) -> Value {
    do {
        return try JSONParser.parse(text)
    } catch {
        Issue.record("bad JSON in test: \(error)")
        return .null
    }
}

/// Compiles `sql` and returns the rendered diagnostics (empty when it compiles).
func diagnostics(_ sql: String, name: String = "<sql>") -> String {
    do {
        _ = try Statement(sql)
        return ""
    } catch {
        return DiagnosticRenderer.render(error.diagnostics, in: SourceText(name: name, text: sql))
    }
}
