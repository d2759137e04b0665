import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxTesting
import Testing

@testable import SignalboxFunctions

@Suite("shadow-update")
struct ShadowUpdateTests {
    static let reading = HarnessMessage(output: ["temp": 5.5, "battery": 80], topic: "devices/f1/telemetry")

    /// The stored state section `section` of `thing`'s shadow.
    static func state(_ harness: HandlerHarness, _ thing: String, name: String? = nil, _ section: String) async throws
        -> Value?
    {
        try await harness.shadows.get(ShadowKey(thing: thing, name: name))["state"]?[section]
    }

    @Test("the output is merged into reported state; null deletes a key")
    func mergesReported() async throws {
        let harness = HandlerHarness()
        _ = try await harness.shadows.update(
            ShadowKey(thing: "f1"),
            body: Array(#"{"state": {"reported": {"temp": 1, "battery": 90, "door": "open"}}}"#.utf8))
        let update = try harness.build(ShadowUpdate.self, ["thing": "${topic(2)}"])
        let outcome = await harness.invoke(
            update, HarnessMessage(output: ["temp": 5.5, "door": nil], topic: "devices/f1/telemetry"))
        #expect(outcome.succeeded)
        #expect(try await Self.state(harness, "f1", "reported") == ["temp": 5.5, "battery": 90])
        #expect(outcome.published.map(\.topic) == ["$aws/things/f1/shadow/update/documents"])
    }

    @Test("state: desired writes desired state, and a delta is published")
    func desired() async throws {
        let harness = HandlerHarness()
        let update = try harness.build(ShadowUpdate.self, ["thing": "${topic(2)}", "state": "desired"])
        let outcome = await harness.invoke(update, Self.reading)
        #expect(outcome.succeeded)
        #expect(try await Self.state(harness, "f1", "desired") == ["temp": 5.5, "battery": 80])
        #expect(try await Self.state(harness, "f1", "reported") == nil)
        #expect(outcome.published.map(\.topic).contains("$aws/things/f1/shadow/update/delta"))
    }

    @Test("a named shadow and a templated document")
    func namedShadowAndDocument() async throws {
        let harness = HandlerHarness()
        let update = try harness.build(
            ShadowUpdate.self,
            ["thing": "${topic(2)}", "shadow": "telemetry", "document": ["lastTopic": "${topic()}", "ok": true]])
        #expect(await harness.invoke(update, Self.reading).succeeded)
        #expect(
            try await Self.state(harness, "f1", name: "telemetry", "reported") == [
                "lastTopic": "devices/f1/telemetry", "ok": true,
            ])
    }

    @Test("an output that is not a JSON object fails for good", arguments: [Value.int(3), [1, 2], "text", nil])
    func notAnObject(output: Value) async throws {
        let harness = HandlerHarness()
        let update = try harness.build(ShadowUpdate.self, ["thing": "f1"])
        let outcome = await harness.invoke(update, HarnessMessage(output: output))
        #expect(
            outcome.permanentError?.description
                == "shadow-update: the SELECT output must be a JSON object, found \(output.jsonTypeName)")
        let binary = await harness.invoke(update, HarnessMessage(output: .binary([1, 2])))
        #expect(binary.permanentError != nil)
    }

    @Test("an empty or invalid thing name, or a document the service refuses, fails for good")
    func refusals() async throws {
        let harness = HandlerHarness()
        let update = try harness.build(ShadowUpdate.self, ["thing": "${device}"])
        let empty = await harness.invoke(update, HarnessMessage(output: ["temp": 1]))
        #expect(
            empty.permanentError?.description
                == "shadow-update: 'thing' rendered empty, so there is no shadow to update")

        let invalid = await harness.invoke(update, HarnessMessage(output: ["temp": 1], payload: ["device": "a b"]))
        #expect(invalid.permanentError?.description.contains("Invalid thing name") == true)
        #expect(invalid.permanentError?.description.contains("a b") == false)

        let big = Value.object(["blob": .string(String(repeating: "x", count: 9_000))])
        let tooLarge = await harness.invoke(update, HarnessMessage(output: big, payload: ["device": "f1"]))
        #expect(tooLarge.permanentError?.description.contains("413") == true)

        let emptyShadow = try harness.build(ShadowUpdate.self, ["thing": "f1", "shadow": "${name}"])
        #expect(await harness.invoke(emptyShadow, Self.reading).permanentError != nil)
    }

    @Test("configuration errors name the key and say how to fix it")
    func configErrors() {
        let harness = HandlerHarness()
        #expect(
            harness.rejection(ShadowUpdate.self, ["state": "reported"]).map(\.message) == [
                "'shadow-update' needs 'thing' under 'with'"
            ])
        let state = harness.rejection(ShadowUpdate.self, ["thing": "f1", "state": "reportd"])
        #expect(state.map(\.message) == ["'state' must be reported or desired"])
        #expect(state.first?.diagnostic.help == "did you mean 'reported'?")
        let unknown = harness.rejection(ShadowUpdate.self, ["thing": "f1", "thng": "x"])
        #expect(unknown.first?.diagnostic.help == "did you mean 'thing'?")
        #expect(
            harness.rejection(ShadowUpdate.self, ["thing": "bad thing!"]).first?.message.hasPrefix("Invalid thing name")
                == true)
        #expect(
            harness.rejection(ShadowUpdate.self, ["thing": "f1", "shadow": "bad/name"]).first?.message.hasPrefix(
                "Invalid shadow name") == true)
        #expect(
            harness.rejection(ShadowUpdate.self, ["thing": "f1", "document": "x"]).map(\.message) == [
                "'document' must be a mapping, found a string"
            ])
        #expect(
            harness.rejection(ShadowUpdate.self, ["thing": "f1", "state": "${topic(1)}"]).map(\.message) == [
                "'state' must be fixed text; it cannot use ${…}"
            ])
    }
}
