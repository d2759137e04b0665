import SignalboxCore
import SignalboxJSON
import SignalboxShadows
import SignalboxTesting
import Testing

/// ``ChangeSignal``: the wake-up behind long-polling gateway syncs.
struct ChangeSignalTests {
    struct WaitCase: Sendable, CustomTestStringConvertible {
        var name: String
        var start: Int64
        var beyond: Int64
        /// Advanced to shortly after the wait starts, if set.
        var advance: Int64?
        var wakes: Bool
        var testDescription: String { name }
    }

    // Signalbox's own mechanism (no AWS page): gateway sync long-polling, see ShadowService+Sync.
    static let waitCases: [WaitCase] = [
        WaitCase(name: "already beyond: returns at once", start: 5, beyond: 4, advance: nil, wakes: true),
        WaitCase(name: "already far beyond", start: 100, beyond: 0, advance: nil, wakes: true),
        WaitCase(name: "at the sequence: waits for a change", start: 5, beyond: 5, advance: 6, wakes: true),
        WaitCase(name: "a jump wakes too", start: 0, beyond: 0, advance: 1_000, wakes: true),
        WaitCase(name: "no change: times out", start: 5, beyond: 5, advance: nil, wakes: false),
        WaitCase(name: "an advance to the same sequence is no change", start: 5, beyond: 5, advance: 5, wakes: false),
        WaitCase(name: "an advance backwards is no change", start: 5, beyond: 5, advance: 3, wakes: false),
        WaitCase(name: "an advance not yet beyond the waiter's point", start: 5, beyond: 10, advance: 8, wakes: false),
    ]

    @Test(arguments: waitCases)
    func wait(_ row: WaitCase) async {
        let signal = ChangeSignal(sequence: row.start)
        // A wake-up must come long before a generous timeout (it takes milliseconds; the bound only
        // guards against a loaded machine); a non-waking row must last its whole short timeout.
        let timeout = row.wakes ? Duration.seconds(120) : Duration.milliseconds(400)
        let started = ContinuousClock.now
        async let waited: Void = signal.wait(beyond: row.beyond, timeout: timeout)
        if let advance = row.advance {
            try? await Task.sleep(for: .milliseconds(50))
            signal.advance(to: advance)
        }
        await waited
        let elapsed = ContinuousClock.now - started
        if row.wakes {
            #expect(elapsed < .seconds(30))
        } else {
            #expect(elapsed >= timeout)
            #expect(elapsed < .seconds(30))
        }
        #expect(signal.sequence == max(row.start, row.advance ?? row.start))
    }

    @Test func advanceWakesEveryWaiterItPasses() async {
        let signal = ChangeSignal(sequence: 1)
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { await signal.wait(beyond: 1, timeout: .seconds(120)) } }
            try? await Task.sleep(for: .milliseconds(100))
            signal.advance(to: 2)
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func cancellationEndsTheWait() async {
        let signal = ChangeSignal()
        let started = ContinuousClock.now
        let waiter = Task { await signal.wait(beyond: 0, timeout: .seconds(60)) }
        try? await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await waiter.value
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func aCancelledTaskDoesNotWait() async {
        let signal = ChangeSignal()
        let started = ContinuousClock.now
        let waiter = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await signal.wait(beyond: 0, timeout: .seconds(60))
        }
        await waiter.value
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func zeroTimeoutReturns() async {
        let signal = ChangeSignal()
        let started = ContinuousClock.now
        await signal.wait(beyond: 0, timeout: .zero)
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}

/// Gateway sync (`ShadowService.sync`): catch-up, cursors, paging and long-polling.
struct ShadowSyncTests {
    static let t1 = ShadowKey(thing: "T1")
    static let cfg = ShadowKey(thing: "T1", name: "cfg")
    static let t2 = ShadowKey(thing: "T2")
    static let t3 = ShadowKey(thing: "T3")

    /// Nine changes; of T1 and T2's, the latest desired ones are cfg's deletion (7) and T1's update (8).
    static func history() async throws -> ShadowFixture {
        let fixture = ShadowFixture(clock: ManualClock(milliseconds: 100_000))
        try await fixture.update(t1, #"{"state":{"desired":{"a":1}}}"#)  // 1
        try await fixture.update(t1, #"{"state":{"desired":{"a":2}}}"#)  // 2
        try await fixture.update(t2, #"{"state":{"reported":{"x":1}}}"#)  // 3, reported only
        try await fixture.update(cfg, #"{"state":{"desired":{"mode":"eco"}}}"#)  // 4
        try await fixture.update(t3, #"{"state":{"desired":{"z":1}}}"#)  // 5, another gateway's thing
        try await fixture.update(t1, #"{"state":{"reported":{"a":1}}}"#)  // 6, reported only
        fixture.clock.set(milliseconds: 150_000)
        try await fixture.delete(cfg)  // 7
        fixture.clock.set(milliseconds: 200_000)
        try await fixture.update(t1, #"{"state":{"desired":{"a":3,"b":[1,2]}}}"#)  // 8
        try await fixture.update(t2, #"{"state":{"reported":{"x":2}}}"#)  // 9, reported only
        return fixture
    }

    static let catchUp =
        #"{"cursor":9,"changes":[{"thing":"T1","shadow":"cfg","version":1,"timestamp":150,"deleted":true},{"thing":"T1","shadow":null,"version":4,"timestamp":200,"deleted":false,"desired":{"a":3,"b":[1,2]},"delta":{"a":3,"b":[1,2]}}],"more":false}"#

    struct SyncCase: Sendable, CustomTestStringConvertible {
        var name: String
        var things: Set<String>
        var cursor: Int64
        var limit: Int
        var expected: String
        var testDescription: String { name }
    }

    // Signalbox's own API (no AWS page); the delta in each entry follows
    // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html
    static let syncCases: [SyncCase] = [
        SyncCase(
            name: "catch-up: latest per shadow, current delta, tombstones", things: ["T1", "T2"], cursor: 0,
            limit: 1000, expected: catchUp),
        SyncCase(
            name: "a cursor before the last changes", things: ["T1", "T2"], cursor: 7, limit: 1000,
            expected:
                #"{"cursor":9,"changes":[{"thing":"T1","shadow":null,"version":4,"timestamp":200,"deleted":false,"desired":{"a":3,"b":[1,2]},"delta":{"a":3,"b":[1,2]}}],"more":false}"#
        ),
        SyncCase(
            name: "up to date: nothing, same cursor", things: ["T1", "T2"], cursor: 9, limit: 1000,
            expected: #"{"cursor":9,"changes":[],"more":false}"#),
        SyncCase(
            name: "reported-only shadows do not appear; the cursor still advances", things: ["T2"], cursor: 0,
            limit: 1000, expected: #"{"cursor":9,"changes":[],"more":false}"#),
        SyncCase(
            name: "other things are not included", things: ["T3"], cursor: 0, limit: 1000,
            expected:
                #"{"cursor":9,"changes":[{"thing":"T3","shadow":null,"version":1,"timestamp":100,"deleted":false,"desired":{"z":1},"delta":{"z":1}}],"more":false}"#
        ),
        SyncCase(
            name: "paging: first page stops at its last change", things: ["T1", "T2", "T3"], cursor: 0, limit: 1,
            expected:
                #"{"cursor":5,"changes":[{"thing":"T3","shadow":null,"version":1,"timestamp":100,"deleted":false,"desired":{"z":1},"delta":{"z":1}}],"more":true}"#
        ),
        SyncCase(
            name: "paging: second page", things: ["T1", "T2", "T3"], cursor: 5, limit: 1,
            expected:
                #"{"cursor":7,"changes":[{"thing":"T1","shadow":"cfg","version":1,"timestamp":150,"deleted":true}],"more":true}"#
        ),
        SyncCase(
            name: "paging: last page", things: ["T1", "T2", "T3"], cursor: 7, limit: 1,
            expected:
                #"{"cursor":9,"changes":[{"thing":"T1","shadow":null,"version":4,"timestamp":200,"deleted":false,"desired":{"a":3,"b":[1,2]},"delta":{"a":3,"b":[1,2]}}],"more":false}"#
        ),
        SyncCase(
            name: "no things: nothing", things: [], cursor: 0, limit: 10,
            expected: #"{"cursor":9,"changes":[],"more":false}"#),
    ]

    @Test(arguments: syncCases)
    func sync(_ row: SyncCase) async throws {
        let fixture = try await Self.history()
        let reply = try await fixture.service.sync(things: row.things, cursor: row.cursor, wait: nil, limit: row.limit)
        #expect(text(reply) == row.expected)
    }

    @Test func pagingVisitsEveryShadowOnce() async throws {
        let fixture = ShadowFixture()
        for i in 0..<25 {
            try await fixture.update(
                ShadowKey(thing: "G\(i % 5)", name: "s\(i)"), #"{"state":{"desired":{"i":\#(i)}}}"#)
            try await fixture.update(
                ShadowKey(thing: "G\(i % 5)", name: "s\(i)"), #"{"state":{"desired":{"j":\#(i)}}}"#)
        }
        var cursor: Int64 = 0
        var seen: [String] = []
        var pages = 0
        while true {
            let reply = try await fixture.service.sync(
                things: ["G0", "G1", "G2", "G3", "G4"], cursor: cursor, wait: nil, limit: 4)
            pages += 1
            guard case .array(let changes)? = reply["changes"], case .int(let next)? = reply["cursor"] else {
                Issue.record("bad reply \(text(reply))")
                return
            }
            for change in changes {
                if case .string(let name)? = change["shadow"] { seen.append(name) }
                #expect(change["desired"]?["j"] != nil)
            }
            #expect(next >= cursor)
            cursor = next
            if reply["more"] == false { break }
        }
        #expect(pages == 7)
        #expect(seen.sorted() == (0..<25).map { "s\($0)" }.sorted())
        #expect(cursor == 50)
    }

    @Test func entriesShowDesiredNullAndEmptyDelta() async throws {
        let fixture = ShadowFixture(clock: ManualClock(milliseconds: 5_000))
        try await fixture.update(Self.t1, #"{"state":{"desired":{"a":1},"reported":{"a":1}}}"#)
        try await fixture.update(Self.cfg, #"{"state":{"desired":{"a":1}}}"#)
        try await fixture.update(Self.cfg, #"{"state":{"desired":null}}"#)
        let reply = try await fixture.service.sync(things: ["T1"], cursor: 0, wait: nil)
        #expect(
            text(reply)
                == #"{"cursor":3,"changes":[{"thing":"T1","shadow":null,"version":1,"timestamp":5,"deleted":false,"desired":{"a":1},"delta":{}},{"thing":"T1","shadow":"cfg","version":2,"timestamp":5,"deleted":false,"desired":null,"delta":{}}],"more":false}"#
        )
    }

    @Test func negativeCursorIsRejected() async {
        let fixture = ShadowFixture()
        let error = await shadowError { () async throws(ShadowError) in
            try await fixture.service.sync(things: ["T1"], cursor: -1, wait: nil)
        }
        #expect(error?.code == .badRequest)
    }

    @Test func longPollWakesOnAChangeByAnotherTask() async throws {
        let fixture = try await Self.history()
        let service = fixture.service
        let started = ContinuousClock.now
        let poll = Task { () async throws(ShadowError) -> Value in
            try await service.sync(things: ["T2"], cursor: 9, wait: .seconds(120))
        }
        try await Task.sleep(for: .milliseconds(200))
        // Neither another thing's change nor a reported-only change ends the poll …
        try await fixture.update(Self.t3, #"{"state":{"desired":{"z":2}}}"#)  // 10
        try await fixture.update(Self.t2, #"{"state":{"reported":{"x":3}}}"#)  // 11
        try await Task.sleep(for: .milliseconds(200))
        // … a desired change of a polled thing does.
        try await fixture.update(Self.t2, #"{"state":{"desired":{"x":4}}}"#)  // 12
        let reply = try await poll.value
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(
            text(reply)
                == #"{"cursor":12,"changes":[{"thing":"T2","shadow":null,"version":4,"timestamp":200,"deleted":false,"desired":{"x":4},"delta":{"x":4}}],"more":false}"#
        )
    }

    @Test func longPollTimesOutEmpty() async throws {
        let fixture = try await Self.history()
        let started = ContinuousClock.now
        let reply = try await fixture.service.sync(things: ["T1", "T2"], cursor: 9, wait: .milliseconds(300))
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(30))
        #expect(text(reply) == #"{"cursor":9,"changes":[],"more":false}"#)
    }

    @Test func longPollTimeoutAdvancesPastIrrelevantChanges() async throws {
        let fixture = try await Self.history()
        let service = fixture.service
        let poll = Task { () async throws(ShadowError) -> Value in
            try await service.sync(things: ["T1"], cursor: 9, wait: .seconds(3))
        }
        try await Task.sleep(for: .milliseconds(100))
        try await fixture.update(Self.t1, #"{"state":{"reported":{"a":3}}}"#)  // 10, reported only
        let reply = try await poll.value
        #expect(text(reply) == #"{"cursor":10,"changes":[],"more":false}"#)
    }

    @Test func longPollReturnsAtOnceWhenChangesAreWaiting() async throws {
        let fixture = try await Self.history()
        let started = ContinuousClock.now
        let reply = try await fixture.service.sync(things: ["T1", "T2"], cursor: 0, wait: .seconds(120))
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(text(reply) == Self.catchUp)
    }

    @Test func cancelledLongPollEnds() async throws {
        let fixture = try await Self.history()
        let service = fixture.service
        let started = ContinuousClock.now
        let poll = Task { () async throws(ShadowError) -> Value in
            try await service.sync(things: ["T1"], cursor: 9, wait: .seconds(60))
        }
        try await Task.sleep(for: .milliseconds(100))
        poll.cancel()
        let result = await poll.result
        #expect(throws: ShadowError(.serviceUnavailable, "Shutting down")) { try result.get() }
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
