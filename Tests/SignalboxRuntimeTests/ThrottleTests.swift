import SignalboxCore
import SignalboxJSON
import SignalboxRuntime
import Testing

/// Throttle windows open only on success: a failed invocation frees its key, one in progress holds
/// it, and the admin operations list and clear windows.
@Suite(.serialized)
struct ThrottleTests {
    static func document(_ probe: String) -> RulesDocument {
        RulesDocument(
            devices: DevicePolicy(keyLevel: 2),
            rules: [
                RuleDefinition(
                    name: "warm", sql: "SELECT temp FROM 'fridges/+/t' WHERE temp > 8",
                    actions: [
                        ActionDefinition(
                            function: "probe", with: ["probe": .init(stringLiteral: probe)],
                            retry: RetryPolicy(attempts: 2, backoff: .milliseconds(10) ... .milliseconds(10)),
                            throttle: ThrottlePolicy(key: "${topic(2)}", per: .seconds(3600)))
                    ])
            ])
    }

    @Test("an invocation that failed for good does not open the window; the next one runs")
    func failureFreesTheKey() async throws {
        let fixture = RuntimeFixture(Self.document("throttle-fail"))
        let runtime = try await fixture.start()
        let sms = Probe.named("throttle-fail")
        sms.failPermanently(true)
        _ = try await runtime.ingest([fixture.message("fridges/f2/t", #"{"temp": 9}"#)])
        #expect(await eventually { (try? await fixture.deadLetters.count()) == 1 })
        #expect(runtime.throttleWindows(rule: nil).isEmpty)

        sms.failPermanently(false)
        _ = try await runtime.ingest([fixture.message("fridges/f2/t", #"{"temp": 9.5}"#)])
        #expect(await eventually { sms.seen.count == 1 })
        _ = try await runtime.ingest([fixture.message("fridges/f2/t", #"{"temp": 10}"#)])
        #expect(await eventually { runtime.tracker.inFlight.count == 0 })
        #expect(sms.seen.count == 1)
        #expect(runtime.rulesStatus().rules[0].actions[0].throttled == 1)
        let windows = runtime.throttleWindows(rule: "warm")
        #expect(windows.count == 1)
        #expect(windows.first?.key == "f2" && windows.first?.actionIndex == 0)
        #expect(windows.first?.expiresAt == fixture.clock.milliseconds + 3_600_000)
        await runtime.shutdown()
    }

    @Test("while an invocation runs or retries it holds the key: no second send meanwhile")
    func inProgressHoldsTheKey() async throws {
        let fixture = RuntimeFixture(Self.document("throttle-busy"))
        let runtime = try await fixture.start()
        let sms = Probe.named("throttle-busy")
        sms.failNext(1)
        sms.delay(.milliseconds(200))
        _ = try await runtime.ingest([fixture.message("fridges/f1/t", #"{"temp": 9}"#)])
        #expect(await eventually { runtime.throttleWindows(rule: "warm").first.map { $0.expiresAt == nil } == true })
        #expect(runtime.throttleWindows(rule: "warm").count == 1)
        _ = try await runtime.ingest([fixture.message("fridges/f1/t", #"{"temp": 9}"#)])
        #expect(await eventually { sms.seen.count == 1 && runtime.tracker.inFlight.count == 0 })
        #expect(sms.seen.first?.attempt == 2)
        #expect(runtime.rulesStatus().rules[0].actions[0].throttled == 1)
        #expect(runtime.throttleWindows(rule: "warm").first?.expiresAt != nil)
        await runtime.shutdown()
    }

    @Test("a reset closes windows in memory and in storage; the next invocation runs")
    func resetClosesWindows() async throws {
        let fixture = RuntimeFixture(Self.document("throttle-reset"))
        var runtime = try await fixture.start()
        let sms = Probe.named("throttle-reset")
        for fridge in ["f1", "f2", "f1"] {
            _ = try await runtime.ingest([fixture.message("fridges/\(fridge)/t", #"{"temp": 9}"#)])
        }
        #expect(await eventually { sms.seen.count == 2 && runtime.tracker.inFlight.count == 0 })
        await runtime.flush()
        #expect(try await fixture.throttles.windows(activeAt: fixture.clock.milliseconds).count == 2)
        #expect(try await runtime.resetThrottles(rule: "other", key: nil) == 0)
        #expect(try await runtime.resetThrottles(rule: "warm", key: "f1") == 1)
        #expect(runtime.throttleWindows(rule: nil).map(\.key) == ["f2"])
        #expect(try await fixture.throttles.windows(activeAt: fixture.clock.milliseconds).map(\.key) == ["f2"])
        _ = try await runtime.ingest([fixture.message("fridges/f1/t", #"{"temp": 9}"#)])
        #expect(await eventually { sms.seen.count == 3 })
        await runtime.shutdown()

        runtime = try await fixture.start()
        #expect(runtime.throttleWindows(rule: nil).map(\.key) == ["f1", "f2"])
        #expect(try await runtime.resetThrottles(rule: nil, key: nil) == 2)
        await runtime.shutdown()
        #expect(try await fixture.throttles.windows(activeAt: fixture.clock.milliseconds).isEmpty)
    }
}
