import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxShadows
import SignalboxTesting
import Testing

/// Shadows as seen by rules: `documents` events as a FROM source, and `get_shadow()` reading the store.
struct ShadowRulesTests {
    static func rule(_ name: String, _ sql: String) -> RuleDefinition {
        RuleDefinition(
            name: LocatedString(name), enabled: true, sql: LocatedString(sql),
            actions: [ActionDefinition(function: "log")], errorAction: nil)
    }

    @Test func documentsEventsFeedRulesThatSelectFromThem() async throws {
        let publisher = RecordingPublisher()
        let service = ShadowService(storage: InMemoryShadowStorage(), publisher: publisher, clock: { 1_700_000_000 })
        _ = try await service.update(
            ShadowKey(thing: "fridge-7"), body: Array(#"{"state":{"desired":{"maxTemp":5}},"clientToken":"c1"}"#.utf8))
        _ = try await service.update(
            ShadowKey(thing: "fridge-7"), body: Array(#"{"state":{"desired":{"maxTemp":3}}}"#.utf8))

        let ruleSet = try RuleSet(
            RulesDocument(rules: [
                Self.rule(
                    "setpoint-changed",
                    """
                    SELECT topic(3) AS thing, previous.state.desired.maxTemp AS was, current.state.desired.maxTemp AS now
                    FROM '$aws/things/+/shadow/update/documents' WHERE previous <> NULL
                    """)
            ]))
        var outputs: [Value] = []
        for event in publisher.messages {
            for rule in ruleSet.candidates(forTopic: event.topic) {
                let message = Message(topic: event.topic, payload: event.payload, timestamp: 0)
                if case .json(let output)? = try rule.statement.evaluate(message).output { outputs.append(output) }
            }
        }
        // The first update created the shadow (previous is null) and is filtered out by WHERE.
        #expect(outputs == [["thing": "fridge-7", "was": 5, "now": 3]])
        #expect(
            publisher.messages.map(\.topic) == [
                "$aws/things/fridge-7/shadow/update/delta", "$aws/things/fridge-7/shadow/update/documents",
                "$aws/things/fridge-7/shadow/update/delta", "$aws/things/fridge-7/shadow/update/documents",
            ])
    }

    @Test func getShadowReadsTheStore() async throws {
        let storage = InMemoryShadowStorage()
        let service = ShadowService(storage: storage, clock: { 1_700_000_000 })
        _ = try await service.update(
            ShadowKey(thing: "fridge-7"),
            body: Array(#"{"state":{"desired":{"maxTemp":5},"reported":{"maxTemp":7}}}"#.utf8))
        _ = try await service.update(
            ShadowKey(thing: "fridge-7", name: "config"), body: Array(#"{"state":{"reported":{"mode":"eco"}}}"#.utf8))
        let ruleSet = try RuleSet(
            RulesDocument(rules: [
                Self.rule(
                    "r",
                    """
                    SELECT get_shadow(topic(2)).state.delta.maxTemp AS pending,
                           get_shadow(topic(2)).version AS version,
                           get_shadow(topic(2), 'config').state.reported.mode AS mode,
                           get_shadow('unknown') AS missing
                    FROM 'devices/+/telemetry'
                    """)
            ]))
        let rule = try #require(ruleSet.rules.first)
        let services = EvaluationServices(shadows: StoredShadowLookup(storage: storage))
        let evaluation = try rule.statement.evaluate(
            Message(topic: "devices/fridge-7/telemetry", json: [:], timestamp: 0), services: services)
        #expect(evaluation.output == .json(["pending": 5, "version": 1, "mode": "eco"]))
    }
}
