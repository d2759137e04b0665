import Forward
import SignalboxCore
import SignalboxJSON
import SignalboxTesting
import Testing

@Suite struct ForwardTests {
    @Test func postsTheOutputWithItsIdempotencyKeyAndRenderedLabel() async throws {
        let harness = HandlerHarness(ruleName: "fridges")
        harness.http.enqueue(.status(202))
        let forward = try harness.build(
            Forward.self, ["url": "https://collector.example/readings", "label": "fridge-${device}"])

        let outcome = await harness.invoke(
            forward, HarnessMessage(output: ["temp": 9.5], id: 41, payload: ["device": "f1", "temp": 9.5]))

        #expect(outcome.succeeded)
        let request = try #require(outcome.requests.first)
        #expect(request.url == "https://collector.example/readings")
        let headers = request.headers.map { [$0.name, $0.value] }
        #expect(headers.contains(["idempotency-key", "41/fridges/0"]))
        #expect(headers.contains(["x-label", "fridge-f1"]))
        #expect(try JSONParser.parse(request.body) == ["temp": 9.5])
    }

    @Test func stampsTheTimeFromTheServicesClock() async throws {
        let clock = ManualClock(milliseconds: 1_000)
        let harness = HandlerHarness(clock: clock)
        let forward = try harness.build(Forward.self, ["url": "https://collector.example/readings"])

        clock.advance(by: .seconds(2))
        let outcome = await harness.invoke(forward, HarnessMessage(output: ["temp": 1]))

        let sentAt = outcome.requests.first?.headers.first { $0.name == "x-sent-at-ms" }?.value
        #expect(sentAt == "3000")
    }

    @Test func retriesOverloadAndGivesUpOnRefusal() async throws {
        let harness = HandlerHarness()
        let forward = try harness.build(Forward.self, ["url": "https://collector.example/readings"])

        harness.http.enqueue(.status(429))
        let overloaded = await harness.invoke(forward, HarnessMessage(output: ["temp": 1]))
        #expect(overloaded.isRetryable)
        #expect(overloaded.error is HTTPStatusError)

        harness.http.enqueue(.status(400))
        let refused = await harness.invoke(forward, HarnessMessage(output: ["temp": 1]))
        #expect(refused.permanentError?.description == "the collector refused the request: HTTP 400")
    }

    @Test func aSlowCollectorTimesOutAtTheDeadline() async throws {
        let harness = HandlerHarness()
        harness.http.enqueue(.noResponse)
        let forward = try harness.build(Forward.self, ["url": "https://collector.example/readings"])

        let outcome = await harness.invoke(forward, HarnessMessage(output: ["temp": 1]), timeout: .milliseconds(200))

        #expect(outcome.timedOut)
    }

    @Test func rejectsAnAddressThatIsNotHTTPSOrAnUnknownKey() {
        let harness = HandlerHarness()

        let plain = harness.rejection(Forward.self, ["url": "http://collector.example"])
        #expect(plain.map(\.message) == ["'url' must be a constant https:// address"])

        let typo = harness.rejection(Forward.self, ["url": "https://collector.example", "lable": "x"])
        #expect(typo.first?.help == "did you mean 'label'?")
    }
}
