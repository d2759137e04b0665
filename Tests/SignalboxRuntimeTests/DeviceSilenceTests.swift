import SignalboxCore
import SignalboxJSON
import SignalboxRuntime
import Testing

/// Device silence judged on journal time, with an injected clock: backlogs replay without flapping,
/// last-seen times survive restarts, and time spent down does not count against devices.
@Suite(.serialized)
struct DeviceSilenceTests {
    static func document(_ probe: String) -> RulesDocument {
        RulesDocument(
            devices: DevicePolicy(keyLevel: 2, silentAfter: .seconds(10)),
            rules: [
                rule("readings", "SELECT * FROM 'fridges/+/t'", probe: "\(probe)-readings"),
                rule(
                    "events", "SELECT *, topic(5) AS kind FROM '$signalbox/events/devices/+/+'",
                    probe: "\(probe)-events",
                    concurrency: 1),
            ])
    }

    /// `device kind @time` of each event the rules saw, in the order they saw them.
    static func events(_ probe: String, from start: Int64) -> [String] {
        Probe.named("\(probe)-events").seen.map { invocation in
            let message = invocation.message
            let kind = message.topic.split(separator: "/").last ?? ""
            return "\(message.device) \(kind) @\((message.receivedAt - start) / 1000)"
        }
    }

    @Test("the monitor judges no later than the oldest message its lanes have not seen")
    func horizonWaitsForUnseenMessages() {
        let monitor = SilenceMonitor()
        monitor.seen("f1", at: 1_000, after: 10_000)
        monitor.expect([5_000, 5_000, 30_000])
        #expect(monitor.horizon(now: 60_000) == 4_999)
        // f1's next message (received at 5 s) still waits in its lane: f1 is not silent at 60 s.
        #expect(monitor.due(now: monitor.horizon(now: 60_000), after: 10_000).isEmpty)
        monitor.seen("f1", at: 5_000, after: 10_000)
        monitor.passed([5_000, 5_000])
        #expect(monitor.horizon(now: 60_000) == 29_999)
        let due = monitor.due(now: monitor.horizon(now: 60_000), after: 10_000)
        #expect(due == [DeviceEvent(device: "f1", kind: .silent, lastSeen: 5_000, at: 15_000, silentAfter: 10_000)])
        monitor.passed([30_000])
        #expect(monitor.horizon(now: 60_000) == 60_000)
    }

    @Test("an old message replayed after the device was reported silent does not bring it back")
    func replayedMessagesDoNotWakeADevice() {
        let monitor = SilenceMonitor(known: [DeviceActivity(device: "f1", lastSeen: 9_000, silent: true)])
        monitor.seen("f1", at: 8_000, after: 10_000)
        monitor.seen("f1", at: 9_000, after: 10_000)
        #expect(monitor.events.count == 0)
        monitor.seen("f1", at: 9_001, after: 10_000)
        #expect(monitor.events.count == 1)
    }

    @Test("a device that went quiet between two checks still gets its silent, then its online")
    func gapBetweenChecks() {
        let monitor = SilenceMonitor()
        monitor.seen("f1", at: 1_000, after: 10_000)
        monitor.seen("f1", at: 10_999, after: 10_000)
        #expect(monitor.events.count == 0)
        monitor.seen("f1", at: 21_000, after: 10_000)
        #expect(monitor.due(now: 25_000, after: 10_000).isEmpty)
        monitor.seen("f1", at: 22_000, after: 10_000)
        #expect(monitor.events.count == 2)
    }

    @Test("a backlog replayed after a crash is judged in journal time: one silence per real gap, no flapping")
    func backlogReplayDoesNotFlap() async throws {
        let fixture = RuntimeFixture(Self.document("backlog"))
        let start = fixture.clock.milliseconds
        // Before the crash: f1 reported every 100 ms for 50 s; f2 too, except between 20 s and 40 s.
        var entries: [JournalEntry] = []
        for step in 0...500 {
            let time = start + Int64(step) * 100
            for fridge in ["f1", "f2"] where fridge == "f1" || time - start <= 20_000 || time - start >= 40_000 {
                entries.append(
                    JournalEntry(
                        id: Int64(entries.count + 1), topic: "fridges/\(fridge)/t", payload: Array("{}".utf8),
                        receivedAt: time))
            }
        }
        try await fixture.journal.append(entries)
        // Down for 24 s after the last message; the lanes replay while the silence timer runs.
        fixture.clock.advance(by: .milliseconds(50_000 + 24_000))
        let runtime = try await fixture.start(configuration: RuntimeConfiguration(lanes: 2))
        for _ in 0..<20 {
            runtime.checkSilence(now: fixture.clock.milliseconds)
            await Task.yield()
        }
        #expect(
            await eventually { runtime.tracker.inFlight.count == 0 && Self.events("backlog", from: start).count >= 2 })
        runtime.checkSilence(now: fixture.clock.milliseconds)
        try await Task.sleep(for: .milliseconds(300))
        // f2's real gap: silent 10 s after its reading at 20 s, online with its reading at 40 s.
        #expect(Self.events("backlog", from: start) == ["f2 silent @30", "f2 online @40"])

        // The 24 s down do not count: both are silent 10 s of uptime after their last reading.
        fixture.clock.advance(by: .milliseconds(9_999))
        runtime.checkSilence(now: fixture.clock.milliseconds)
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.events("backlog", from: start).count == 2)
        fixture.clock.advance(by: .milliseconds(1))
        runtime.checkSilence(now: fixture.clock.milliseconds)
        #expect(await eventually { Self.events("backlog", from: start).count == 4 })
        #expect(Self.events("backlog", from: start).suffix(2) == ["f1 silent @84", "f2 silent @84"])
        await runtime.shutdown()
    }

    @Test("last-seen times survive a restart: a device quiet since is reported once, a silent one not again")
    func lastSeenSurvivesRestarts() async throws {
        let fixture = RuntimeFixture(Self.document("restart"))
        let start = fixture.clock.milliseconds
        var runtime = try await fixture.start()
        _ = try await runtime.ingest([fixture.message("fridges/f1/t", "{}"), fixture.message("fridges/f2/t", "{}")])
        #expect(await eventually { Probe.named("restart-readings").seen.count == 2 })
        fixture.clock.advance(by: .milliseconds(10_000))
        runtime.checkSilence(now: fixture.clock.milliseconds)
        #expect(await eventually { Self.events("restart", from: start) == ["f1 silent @10", "f2 silent @10"] })
        fixture.clock.advance(by: .milliseconds(5_000))
        _ = try await runtime.ingest([fixture.message("fridges/f2/t", "{}")])
        #expect(await eventually { Self.events("restart", from: start).count == 3 })
        await runtime.shutdown()
        #expect(
            try await fixture.devices.activities() == [
                DeviceActivity(device: "f1", lastSeen: start, silent: true),
                DeviceActivity(device: "f2", lastSeen: start + 15_000, silent: false),
            ])

        // Down for 60 s; f2 never reports again.
        fixture.clock.advance(by: .milliseconds(60_000))
        runtime = try await fixture.start()
        runtime.checkSilence(now: fixture.clock.milliseconds)
        fixture.clock.advance(by: .milliseconds(9_999))
        runtime.checkSilence(now: fixture.clock.milliseconds)
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.events("restart", from: start).count == 3)
        fixture.clock.advance(by: .milliseconds(1))
        runtime.checkSilence(now: fixture.clock.milliseconds)
        fixture.clock.advance(by: .milliseconds(100_000))
        runtime.checkSilence(now: fixture.clock.milliseconds)
        #expect(await eventually { Self.events("restart", from: start).count == 4 })
        try await Task.sleep(for: .milliseconds(200))
        // Silent 10 s of uptime after its last reading (at 15 s, then 60 s down); f1 is not repeated.
        #expect(
            Self.events("restart", from: start) == ["f1 silent @10", "f2 silent @10", "f2 online @15", "f2 silent @85"])
        await runtime.shutdown()
    }
}
