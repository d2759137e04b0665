import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxTesting
import Testing

@testable import SignalboxFunctions

@Suite("republish")
struct RepublishTests {
    @Test("the output's bytes are published to the rendered topic")
    func publishes() async throws {
        let harness = HandlerHarness()
        let republish = try harness.build(Republish.self, ["topic": "alerts/${topic(2)}/too-warm"])
        let outcome = await harness.invoke(
            republish, HarnessMessage(output: ["temp": 9.5, "fridge": "f1"], topic: "devices/f1/telemetry"))
        #expect(outcome.succeeded)
        #expect(
            outcome.published == [
                OutgoingMessage(topic: "alerts/f1/too-warm", payload: Array(#"{"temp":9.5,"fridge":"f1"}"#.utf8))
            ])
    }

    @Test("a message the broker cannot take now fails the attempt, to be tried again")
    func brokerUnavailable() async throws {
        let harness = HandlerHarness()
        let republish = try harness.build(Republish.self, ["topic": "alerts/copy"])
        harness.publisher.refuseDeliveries(with: RecordingPublisher.Unavailable())
        let refused = await harness.invoke(republish, HarnessMessage(output: ["a": 1]))
        #expect(!refused.succeeded)
        #expect(refused.permanentError == nil)
        #expect(refused.published.isEmpty)
        harness.publisher.refuseDeliveries(with: nil)
        let retried = await harness.invoke(republish, HarnessMessage(output: ["a": 1]))
        #expect(retried.succeeded)
        #expect(retried.published == [OutgoingMessage(topic: "alerts/copy", payload: Array(#"{"a":1}"#.utf8))])
    }

    @Test("a message the broker can never take fails for good")
    func undeliverable() async throws {
        let harness = HandlerHarness()
        let republish = try harness.build(Republish.self, ["topic": "alerts/copy"])
        harness.publisher.refuseDeliveries(with: UndeliverableMessage(reason: "the broker refused it (0x87)"))
        let outcome = await harness.invoke(republish, HarnessMessage(output: ["a": 1]))
        #expect(
            outcome.permanentError?.description
                == "republish: the message cannot be published: the broker refused it (0x87)")
    }

    @Test("a binary output is published as it is")
    func binary() async throws {
        let harness = HandlerHarness()
        let republish = try harness.build(Republish.self, ["topic": "raw/copy"])
        let outcome = await harness.invoke(republish, HarnessMessage(output: .binary([0, 1, 2, 0xFF])))
        #expect(outcome.published == [OutgoingMessage(topic: "raw/copy", payload: [0, 1, 2, 0xFF])])
    }

    @Test(
        "a rendered topic that cannot be published to fails for good",
        arguments: [
            ("+", "the topic contains a wildcard ('+' or '#'); publish to a concrete topic"),
            ("a/b/c/d/e/f/g/h", "the topic has more than 8 levels"),
        ])
    func invalidRenderedTopic(kind: String, problem: String) async throws {
        let harness = HandlerHarness()
        let republish = try harness.build(Republish.self, ["topic": "alerts/${kind}"])
        let outcome = await harness.invoke(
            republish, HarnessMessage(output: ["a": 1], payload: ["kind": .string(kind)]))
        #expect(
            outcome.permanentError?.description
                == "republish: the rendered topic is not a topic to republish to: \(problem)")
        #expect(outcome.published.isEmpty)
    }

    @Test("a rendered reserved topic fails for good")
    func reservedRenderedTopic() async throws {
        let harness = HandlerHarness()
        let republish = try harness.build(Republish.self, ["topic": "${target}"])
        let outcome = await harness.invoke(
            republish, HarnessMessage(output: ["a": 1], payload: ["target": "$aws/things/f1/shadow/update"]))
        #expect(outcome.permanentError?.description.contains("reserved for Signalbox") == true)
        let empty = await harness.invoke(republish, HarnessMessage(output: ["a": 1]))
        #expect(empty.permanentError?.description.contains("the topic is empty") == true)
    }

    @Test(
        "a fixed topic that is invalid or reserved is refused at load",
        arguments: [
            ("$aws/things/f1/shadow/update", "topics starting with '$aws/' are reserved for Signalbox"),
            ("$signalbox/rules", "topics starting with '$signalbox/' are reserved for Signalbox"),
            ("alerts/#", "the topic contains a wildcard ('+' or '#'); publish to a concrete topic"),
            ("", "the topic is empty"),
        ])
    func invalidFixedTopic(topic: String, problem: String) {
        let problems = HandlerHarness().rejection(Republish.self, ["topic": ConfigValue(stringLiteral: topic)])
        #expect(problems.map(\.message) == ["'topic' is not a topic to republish to: \(problem)"])
    }

    @Test("configuration errors name the key")
    func configErrors() {
        let harness = HandlerHarness()
        #expect(harness.rejection(Republish.self, nil).map(\.message) == ["'republish' needs 'topic' under 'with'"])
        #expect(harness.rejection(Republish.self, ["topik": "a"]).first?.diagnostic.help == "did you mean 'topic'?")
        #expect(
            harness.rejection(Republish.self, ["topic": ["a"]]).map(\.message) == [
                "'topic' must be a string, found a list"
            ])
    }
}
