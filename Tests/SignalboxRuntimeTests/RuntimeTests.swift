import SignalboxCore
import SignalboxJSON
import SignalboxRuntime
import SignalboxSQL
import SignalboxTesting
import Testing

@Suite("rules runtime")
struct RuntimeTests {
    @Test("each device's messages reach the handler in arrival order; the checkpoint passes them all")
    func orderedPerDevice() async throws {
        let fixture = RuntimeFixture(
            RulesDocument(
                devices: DevicePolicy(keyLevel: 2),
                rules: [rule("all", "SELECT n FROM 'devices/+/telemetry'", probe: "ordered", concurrency: 8)]))
        let runtime = try await fixture.start()
        var ids: [Int64] = []
        for batch in 0..<20 {
            let messages = (0..<50).map { i in
                fixture.message("devices/d\(i % 10)/telemetry", #"{"n": \#(batch * 50 + i)}"#)
            }
            ids += try await runtime.ingest(messages)
        }
        #expect(ids == Array(ids.sorted()))
        let probe = Probe.named("ordered")
        #expect(await eventually { probe.seen.count == 1000 })
        let byDevice = Dictionary(grouping: probe.seen, by: \.message.device)
        #expect(byDevice.count == 10)
        for (_, invocations) in byDevice {
            let order = invocations.map(\.message.id)
            #expect(order == order.sorted())
        }
        #expect(await eventually { runtime.tracker.checkpoint == ids.last! })
        await runtime.shutdown()
        let state = try await fixture.journal.state()
        #expect(state.checkpoint == ids.last!)
        #expect(try await fixture.journal.entries(after: 0, limit: 10).isEmpty)
    }

    @Test("SELECT * hands a JSON payload over as received; other outputs are built")
    func wholePayloadPassesThrough() async throws {
        let fixture = RuntimeFixture(
            RulesDocument(rules: [
                rule("whole", "SELECT * FROM 'devices/+/telemetry' WHERE t > 1", probe: "whole"),
                rule("built", "SELECT t, 'x' AS k FROM 'devices/+/telemetry'", probe: "built"),
            ]))
        let runtime = try await fixture.start()
        let text = #"{ "t" : 2.50, "s": "a\u0062" }"#
        _ = try await runtime.ingest([
            fixture.message("devices/d/telemetry", text), fixture.message("devices/d/telemetry", #"{"t": 0}"#),
            fixture.message("devices/d/telemetry", "not json"),
        ])
        let whole = Probe.named("whole")
        let built = Probe.named("built")
        #expect(await eventually { whole.seen.count == 1 && built.seen.count == 3 })
        let invocation = try #require(whole.seen.first)
        #expect(invocation.outputDocument == Array(text.utf8))
        #expect(invocation.outputJSONText == Array(text.utf8))
        #expect(invocation.output == .json(try JSONParser.parse(Array(text.utf8))))
        let first = try #require(built.seen.first { $0.message.id == invocation.message.id })
        #expect(first.outputDocument == nil)
        #expect(first.outputJSONText == Array(#"{"t":2.5,"k":"x"}"#.utf8))
        await runtime.shutdown()
    }

    @Test("messages journaled but not checkpointed are handled again at start, once")
    func replayAfterCrash() async throws {
        let fixture = RuntimeFixture(
            RulesDocument(rules: [rule("all", "SELECT * FROM 'devices/+/telemetry'", probe: "replay")]))
        try await fixture.journal.append(
            (1...5).map {
                JournalEntry(id: Int64($0), topic: "devices/d/telemetry", payload: Array("{}".utf8), receivedAt: 1)
            })
        try await fixture.journal.checkpoint(2)
        let runtime = try await fixture.start()
        let probe = Probe.named("replay")
        #expect(await eventually { probe.seen.count == 3 })
        #expect(probe.seen.map(\.message.id).sorted() == [3, 4, 5])
        #expect(probe.seen.map(\.idempotencyKey).sorted() == ["3/all/0", "4/all/0", "5/all/0"])
        let next = try await runtime.ingest([fixture.message("devices/d/telemetry", "{}")])
        #expect(next == [6])
        await runtime.shutdown()
    }

    @Test("a failing action is retried, then its error action runs with AWS's error message shape")
    func retryThenErrorAction() async throws {
        let fixture = RuntimeFixture(
            RulesDocument(rules: [
                rule(
                    "flaky", "SELECT temp FROM 'devices/+/telemetry'", probe: "flaky",
                    retry: RetryPolicy(attempts: 3, backoff: .milliseconds(5) ... .milliseconds(20)),
                    errorProbe: "flaky-errors")
            ]))
        let runtime = try await fixture.start()
        let probe = Probe.named("flaky")
        probe.failNext(2)
        _ = try await runtime.ingest([fixture.message("devices/d1/telemetry", #"{"temp": 9}"#)])
        #expect(await eventually { probe.seen.count == 1 })
        #expect(probe.seen.first?.attempt == 3)

        probe.failNext(3)
        _ = try await runtime.ingest([fixture.message("devices/d1/telemetry", #"{"temp": 10}"#)])
        let errors = Probe.named("flaky-errors")
        #expect(await eventually { errors.seen.count == 1 })
        let report = try #require(errors.seen.first)
        guard case .json(let payload) = report.output else { Issue.record("not JSON"); return }
        #expect(payload["ruleName"] == "flaky")
        #expect(payload["topic"] == "devices/d1/telemetry")
        #expect(payload["base64OriginalPayload"] == .string(Base64.encode(Array(#"{"temp": 10}"#.utf8))))
        #expect(payload["failures"]?[0]?["failedAction"] == "probe")
        #expect(payload["failures"]?[0]?["errorMessage"] == "the probe failed on purpose")
        #expect(try await fixture.deadLetters.count() == 0)
        #expect(runtime.rulesStatus().rules[0].actions[0].retries == 4)
        await runtime.shutdown()
    }

    @Test("what the error action cannot handle becomes a dead letter, which can be retried")
    func deadLetterAndRetry() async throws {
        let fixture = RuntimeFixture(
            RulesDocument(rules: [
                rule("doomed", "SELECT temp FROM 'devices/+/telemetry'", probe: "doomed", errorProbe: "doomed-errors")
            ]))
        let runtime = try await fixture.start()
        let probe = Probe.named("doomed")
        let errors = Probe.named("doomed-errors")
        probe.failPermanently(true)
        errors.failPermanently(true)
        let ids = try await runtime.ingest([fixture.message("devices/d1/telemetry", #"{"temp": 12}"#)])
        #expect(await eventually { (try? await fixture.deadLetters.count()) == 1 })
        let letter = try #require(try await fixture.deadLetters.list(after: 0, limit: 10).first)
        #expect(letter.message.id == ids[0])
        #expect(letter.source.rule == "doomed" && letter.source.actionIndex == 0 && letter.source.ruleSetVersion == 1)
        #expect(letter.error.contains("refused for good"))
        #expect(letter.error.contains("error action failed"))
        #expect(await eventually { runtime.tracker.checkpoint == ids[0] })

        #expect(await runtime.retryDeadLetter(letter.id) == .failed(error: "refused for good"))
        #expect(try await fixture.deadLetters.get(letter.id)?.attempts == letter.attempts + 1)
        probe.failPermanently(false)
        #expect(await runtime.retryDeadLetter(letter.id) == .delivered)
        #expect(try await fixture.deadLetters.count() == 0)
        #expect(probe.seen.last?.idempotencyKey == "\(ids[0])/doomed/0")
        #expect(await runtime.retryDeadLetter(letter.id) == .notFound)
        await runtime.shutdown()
    }

    @Test("a dead letter that cannot be stored keeps its message in flight until it is stored")
    func deadLetterStorageDown() async throws {
        let fixture = RuntimeFixture(
            RulesDocument(rules: [rule("lost", "SELECT temp FROM 'devices/+/telemetry'", probe: "lost-letter")]))
        Probe.named("lost-letter").failPermanently(true)
        fixture.deadLetters.failAdds(with: ProbeFailure())
        let runtime = try await fixture.start()
        let ids = try await runtime.ingest([fixture.message("devices/d1/telemetry", #"{"temp": 12}"#)])

        // The storage refuses for longer than five tries take (3 s): the message is not done.
        try await Task.sleep(for: .milliseconds(3_500))
        await runtime.flush()
        #expect(runtime.tracker.checkpoint < ids[0])
        #expect(try await fixture.journal.state().checkpoint < ids[0])

        fixture.deadLetters.failAdds(with: nil)
        #expect(await eventually { (try? await fixture.deadLetters.count()) == 1 })
        #expect(await eventually { runtime.tracker.checkpoint == ids[0] })
        await runtime.shutdown()
    }

    @Test("an attempt longer than the timeout fails as timed out")
    func timeout() async throws {
        let fixture = RuntimeFixture(
            RulesDocument(rules: [
                rule(
                    "slow", "SELECT * FROM 'slow/#'", probe: "slow", timeout: .milliseconds(50),
                    errorProbe: "slow-errors")
            ]))
        let runtime = try await fixture.start()
        Probe.named("slow").delay(.seconds(5))
        _ = try await runtime.ingest([fixture.message("slow/x", "{}")])
        let errors = Probe.named("slow-errors")
        #expect(await eventually { errors.seen.count == 1 })
        guard case .json(let payload)? = errors.seen.first?.output else { Issue.record("no report"); return }
        #expect(payload["failures"]?[0]?["errorMessage"] == "the action did not finish within its timeout of 50ms")
        await runtime.shutdown()
    }

    @Test(
        "a stop that outlasts the drain timeout ends without waiting for a hanging attempt or a retry's backoff; both messages are handled at the next start, once",
        arguments: ["hang", "backoff"])
    func stopPastTheDrainTimeout(kind: String) async throws {
        let name = "stop-\(kind)"
        let probe = Probe.named(name)
        let fixture = RuntimeFixture(
            RulesDocument(rules: [
                rule(
                    "r", "SELECT * FROM 'devices/+/telemetry'", probe: name,
                    retry: RetryPolicy(attempts: 3, backoff: .seconds(120) ... .seconds(120)), timeout: .seconds(120))
            ]))
        if kind == "hang" { probe.delay(.seconds(120)) } else { probe.failNext(1) }
        let configuration = RuntimeConfiguration(lanes: 1, drainTimeout: .milliseconds(200))
        let runtime = try await fixture.start(configuration: configuration)
        _ = try await runtime.ingest([fixture.message("devices/d/telemetry", "{}")])
        try await Task.sleep(for: .milliseconds(300))

        let stopping = ContinuousClock.now
        await runtime.shutdown()
        // The attempt (or the backoff) lasts 120 s; the stop waits for the drain timeout only.
        #expect(ContinuousClock.now - stopping < .seconds(30))
        #expect(probe.seen.isEmpty)
        #expect(try await fixture.journal.state().checkpoint == 0)

        probe.delay(.zero)
        let restarted = try await fixture.start(configuration: configuration)
        #expect(
            await eventually {
                await restarted.flush()
                return (try? await fixture.journal.state().checkpoint) == 1
            })
        #expect(probe.seen.map(\.idempotencyKey) == ["1/r/0"])
        await restarted.shutdown()
    }

    @Test("a throttled action runs once per key and period, and the window holds across a restart")
    func throttle() async throws {
        let fixture = RuntimeFixture(
            RulesDocument(
                devices: DevicePolicy(keyLevel: 2),
                rules: [
                    RuleDefinition(
                        name: "warm", sql: "SELECT temp FROM 'fridges/+/t' WHERE temp > 8",
                        actions: [
                            ActionDefinition(
                                function: "probe", with: ["probe": "sms"],
                                throttle: ThrottlePolicy(key: "${topic(2)}", per: .seconds(3600)))
                        ])
                ]))
        var runtime = try await fixture.start()
        for fridge in ["f1", "f2", "f1", "f1", "f2"] {
            _ = try await runtime.ingest([fixture.message("fridges/\(fridge)/t", #"{"temp": 9}"#)])
        }
        let sms = Probe.named("sms")
        #expect(await eventually { sms.seen.count == 2 })
        #expect(await eventually { runtime.tracker.inFlight.count == 0 })
        #expect(Set(sms.seen.map(\.message.device)) == ["f1", "f2"])
        #expect(runtime.rulesStatus().rules[0].actions[0].throttled == 3)
        await runtime.shutdown()

        runtime = try await fixture.start()
        fixture.clock.advance(by: .milliseconds(3_599_000))
        _ = try await runtime.ingest([fixture.message("fridges/f1/t", #"{"temp": 9}"#)])
        fixture.clock.advance(by: .milliseconds(2_000))
        _ = try await runtime.ingest([fixture.message("fridges/f1/t", #"{"temp": 9}"#)])
        #expect(await eventually { sms.seen.count == 3 })
        #expect(await eventually { runtime.tracker.inFlight.count == 0 })
        #expect(sms.seen.count == 3)
        await runtime.shutdown()
    }

    @Test("a full runtime refuses messages as overloaded instead of queueing them")
    func overload() async throws {
        let fixture = RuntimeFixture(RulesDocument(rules: [rule("stuck", "SELECT * FROM 'stuck/#'", probe: "stuck")]))
        let runtime = try await fixture.start(configuration: RuntimeConfiguration(lanes: 2, capacity: 10))
        Probe.named("stuck").delay(.milliseconds(300))
        _ = try await runtime.ingest((0..<10).map { fixture.message("stuck/\($0)", "{}") })
        await #expect(throws: IngestRefusal.overloaded(retryAfter: 1)) {
            try await runtime.ingest([fixture.message("stuck/x", "{}")])
        }
        #expect(await eventually { runtime.tracker.inFlight.count == 0 })
        _ = try await runtime.ingest([fixture.message("stuck/y", "{}")])
        await runtime.shutdown()
    }

    @Test("reloads swap rule sets atomically: every message is evaluated by exactly one version")
    func hotReload() async throws {
        let first = RulesDocument(rules: [rule("a", "SELECT n FROM 'load/#'", probe: "reload")])
        let fixture = RuntimeFixture(first)
        let runtime = try await fixture.start()
        var total = 0
        for round in 0..<20 {
            let ids = try await runtime.ingest((0..<50).map { fixture.message("load/d\($0 % 7)", #"{"n": \#($0)}"#) })
            total += ids.count
            if round % 3 == 2 {
                fixture.source.setBroken(true)
                guard case .failed(let failure) = await runtime.reload() else {
                    Issue.record("a broken file was loaded")
                    return
                }
                #expect(!failure.diagnostics.isEmpty)
                fixture.source.setBroken(false)
            } else {
                guard case .loaded = await runtime.reload() else {
                    Issue.record("a valid file was refused")
                    return
                }
            }
        }
        let probe = Probe.named("reload")
        #expect(await eventually { probe.seen.count == total })
        let perMessage = Dictionary(grouping: probe.seen, by: \.message.id)
        #expect(perMessage.count == total)
        #expect(perMessage.values.allSatisfy { $0.count == 1 })
        let status = runtime.rulesStatus()
        #expect(status.reloads.failed == 6 && status.reloads.succeeded == 14)
        #expect(status.version == 15)
        // The last reloads succeeded, which cleared the failure before them.
        #expect(status.lastFailure == nil)
        await runtime.shutdown()
    }

    @Test("a reload keeps the counters of unchanged rules, zeroes a changed one's; a success clears the failure")
    func reloadKeepsCountersOfUnchangedRules() async throws {
        func document(edited sql: String) -> RulesDocument {
            RulesDocument(rules: [
                rule("same", "SELECT n FROM 'count/#'", probe: "keep-same"),
                rule("edited", sql, probe: "keep-edited"),
            ])
        }
        let fixture = RuntimeFixture(document(edited: "SELECT n FROM 'count/#'"))
        let runtime = try await fixture.start()
        _ = try await runtime.ingest((0..<5).map { fixture.message("count/d", #"{"n": \#($0)}"#) })
        #expect(await eventually { Probe.named("keep-edited").seen.count == 5 })
        #expect(await eventually { runtime.rulesStatus().rules[0].actions[0].succeeded == 5 })

        fixture.source.setBroken(true)
        guard case .failed(let failure) = await runtime.reload() else {
            Issue.record("a broken file was loaded")
            return
        }
        #expect(failure.rendered.hasSuffix("error: rules.yaml has 1 error\n"))
        #expect(runtime.rulesStatus().lastFailure?.rendered == failure.rendered)

        fixture.source.setBroken(false)
        fixture.source.replace(document(edited: "SELECT n FROM 'count/#' WHERE n > 2"))
        guard case .loaded(let version) = await runtime.reload() else {
            Issue.record("a valid file was refused")
            return
        }
        let status = runtime.rulesStatus()
        #expect(version == 2)
        #expect(status.lastFailure == nil)
        #expect(status.rules.map(\.name) == ["same", "edited"])
        #expect(status.rules[0].evaluated == 5 && status.rules[0].matched == 5)
        #expect(status.rules[0].actions[0].invocations == 5 && status.rules[0].actions[0].succeeded == 5)
        #expect(status.rules[1].evaluated == 0 && status.rules[1].actions[0].invocations == 0)
        await runtime.shutdown()
    }

    @Test("rule-set versions go on from the last one recorded, across runtimes over the same store")
    func versionsContinueAcrossRestarts() async throws {
        let versions = InMemoryRuleSetVersions()
        let document = RulesDocument(rules: [rule("a", "SELECT * FROM 'v/#'", probe: "versions")])
        let first = try await RuntimeFixture(document, versions: versions).start()
        #expect(first.version == 1)
        _ = await first.reload()
        #expect(first.version == 2)
        await first.shutdown()
        let second = try await RuntimeFixture(document, versions: versions).start()
        #expect(second.version == 3)
        #expect(second.rulesStatus().versions.map(\.version) == [3, 2, 1])
        #expect(try await versions.latest()?.digest == "test")
        await second.shutdown()
    }

    @Test("a silent device raises its event exactly when the period ends, and another when it reports again")
    func silence() async throws {
        let fixture = RuntimeFixture(
            RulesDocument(
                devices: DevicePolicy(keyLevel: 2, silentAfter: .seconds(600)),
                rules: [
                    rule("readings", "SELECT * FROM 'fridges/+/t'", probe: "silence-readings"),
                    rule(
                        "events", "SELECT *, topic(5) AS kind FROM '$signalbox/events/devices/+/+'",
                        probe: "silence-events"),
                ]))
        let runtime = try await fixture.start()
        let start = fixture.clock.milliseconds
        _ = try await runtime.ingest([fixture.message("fridges/f1/t", "{}")])
        #expect(await eventually { Probe.named("silence-readings").seen.count == 1 })
        runtime.checkSilence(now: start + 599_999)
        runtime.checkSilence(now: start + 600_000)
        runtime.checkSilence(now: start + 900_000)
        let events = Probe.named("silence-events")
        #expect(await eventually { events.seen.count == 1 })
        let silent = try #require(events.seen.first)
        #expect(silent.message.topic == "$signalbox/events/devices/f1/silent")
        #expect(silent.message.device == "f1")
        #expect(silent.message.receivedAt == start + 600_000)
        guard case .json(let payload) = silent.output else { Issue.record("not JSON"); return }
        #expect(payload["lastSeenAt"] == .int(start))
        #expect(payload["kind"] == "silent")

        fixture.clock.advance(by: .milliseconds(1_000_000))
        _ = try await runtime.ingest([fixture.message("fridges/f1/t", "{}")])
        #expect(await eventually { events.seen.count == 2 })
        #expect(events.seen.last?.message.topic == "$signalbox/events/devices/f1/online")
        await runtime.shutdown()
    }

    @Test("device keys: thing names, event devices, a topic level, or the whole topic")
    func deviceKeys() {
        let policy = DevicePolicy(keyLevel: 4)
        #expect(policy.deviceKey(forTopic: "gateways/gw1/devices/f1/telemetry") == "f1")
        #expect(policy.deviceKey(forTopic: "$aws/things/f9/shadow/update/documents") == "f9")
        #expect(policy.deviceKey(forTopic: "$signalbox/events/devices/f3/silent") == "f3")
        #expect(policy.deviceKey(forTopic: "short/topic") == "short/topic")
        #expect(DevicePolicy().deviceKey(forTopic: "a/b") == "a/b")
        #expect(DevicePolicy(keyLevel: 2).deviceKey(forTopic: "a//c") == "a//c")
    }

    @Test("backoff doubles from the minimum, stops at the maximum, and jitters down by at most half")
    func backoff() {
        let policy = RetryPolicy(attempts: 10, backoff: .seconds(1) ... .seconds(60))
        #expect(policy.delay(afterAttempt: 1, random: 0) == .seconds(1))
        #expect(policy.delay(afterAttempt: 3, random: 0) == .seconds(4))
        #expect(policy.delay(afterAttempt: 3, random: 0.5) == .seconds(3))
        #expect(policy.delay(afterAttempt: 9, random: 0) == .seconds(60))
        #expect(policy.delay(afterAttempt: 2, random: 0.999) >= .seconds(1))
    }
}
