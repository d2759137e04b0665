import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxTesting
import Testing

@testable import SignalboxFunctions

@Suite("persist")
struct PersistTests {
    @Test("a row carries the idempotency key, the message's metadata and the output as JSON")
    func writesRow() async throws {
        let harness = HandlerHarness(ruleName: "store-readings")
        let persist = try harness.build(Persist.self, ["table": "readings"])
        let outcome = await harness.invoke(
            persist,
            HarnessMessage(
                output: ["temp": 4.5, "fridge": "f1"], topic: "gateways/g1/devices/f1/telemetry", device: "f1", id: 42,
                receivedAt: 1_700_000_000_123))
        #expect(outcome.succeeded)
        let rows = harness.records.rows(in: "readings")
        #expect(
            rows == [
                RecordRow(
                    idempotencyKey: "42/store-readings/0", messageID: 42, rule: "store-readings",
                    topic: "gateways/g1/devices/f1/telemetry", device: "f1", receivedAt: 1_700_000_000_123,
                    data: Array(#"{"temp":4.5,"fridge":"f1"}"#.utf8))
            ])
    }

    @Test("the table is 'records' unless the action names one")
    func defaultTable() async throws {
        let harness = HandlerHarness()
        let persist = try harness.build(Persist.self, nil)
        #expect(await harness.invoke(persist, HarnessMessage(output: ["a": 1])).succeeded)
        #expect(try await harness.records.tables() == ["records"])
    }

    @Test("a replayed invocation writes no second row")
    func replay() async throws {
        let harness = HandlerHarness()
        let persist = try harness.build(Persist.self, ["table": "readings"])
        let message = HarnessMessage(output: ["temp": 1], id: 7)
        #expect(await harness.invoke(persist, message).succeeded)
        #expect(await harness.invoke(persist, message, attempt: 2).succeeded)
        #expect(await harness.invoke(persist, batch: [message, message]).succeeded)
        #expect(harness.records.rows(in: "readings").map(\.idempotencyKey) == ["7/test-rule/0"])
        // The same message handled by another action of the rule is another row.
        #expect(await harness.invoke(persist, message, actionIndex: 1).succeeded)
        #expect(await harness.invoke(persist, message, actionIndex: nil).succeeded)
        #expect(
            harness.records.rows(in: "readings").map(\.idempotencyKey) == [
                "7/test-rule/0", "7/test-rule/1", "7/test-rule/e",
            ])
    }

    @Test("a batch is one insert call, its rows in order")
    func batch() async throws {
        let harness = HandlerHarness()
        let persist = try harness.build(Persist.self, ["table": "readings"])
        let messages = (1...3).map { HarnessMessage(output: ["n": .int($0)], id: $0) }
        #expect(await harness.invoke(persist, batch: messages).succeeded)
        // One insert call, of all three rows.
        #expect(harness.records.insertCalls.map { "\($0.table) \($0.rows)" } == ["readings 3"])
        #expect(harness.records.rows(in: "readings").map(\.messageID) == [1, 2, 3])
    }

    @Test("a binary output is stored as a JSON string holding its base64")
    func binaryOutput() async throws {
        let harness = HandlerHarness()
        let persist = try harness.build(Persist.self, nil)
        #expect(await harness.invoke(persist, HarnessMessage(output: .binary([0xFF, 0x00, 0x41]))).succeeded)
        #expect(harness.records.rows(in: "records").first?.data == Array(#""/wBB""#.utf8))
    }

    @Test("a storage failure is retried")
    func storageFailure() async throws {
        struct DiskFull: Error {}
        let harness = HandlerHarness()
        let persist = try harness.build(Persist.self, nil)
        harness.records.failInserts(with: DiskFull())
        let outcome = await harness.invoke(persist, HarnessMessage(output: ["a": 1]))
        #expect(outcome.isRetryable)
        harness.records.failInserts(with: nil)
        #expect(await harness.invoke(persist, HarnessMessage(output: ["a": 1])).succeeded)
        #expect(harness.records.rows(in: "records").count == 1)
    }

    @Test(
        "table names must match [a-z][a-z0-9_]{0,62}",
        arguments: [
            ("readings", true), ("rule_errors", true), ("a", true), ("t2", true),
            (String(repeating: "a", count: 63), true), (String(repeating: "a", count: 64), false), ("", false),
            ("Readings", false), ("1st", false), ("_x", false), ("low-battery", false), ("a b", false),
            ("tëmp", false), ("sqlite_stat1", false), ("sqlitex", true),
        ])
    func tableNames(name: String, valid: Bool) throws {
        let problems = HandlerHarness().rejection(Persist.self, ["table": .init(.string(LocatedString(name)))])
        if valid {
            #expect(problems.isEmpty)
        } else {
            #expect(problems.map(\.message) == ["'\(name)' is not a valid table name"])
            #expect(problems.first?.diagnostic.help?.contains("lowercase letter") == true)
        }
    }

    @Test("configuration errors name the key and say how to fix it")
    func configErrors() throws {
        let harness = HandlerHarness()
        let unknown = harness.rejection(Persist.self, ["tabel": "readings"])
        #expect(unknown.map(\.message) == ["'persist' has no setting 'tabel'"])
        #expect(unknown.first?.diagnostic.help == "did you mean 'table'?")
        #expect(
            harness.rejection(Persist.self, ["table": "t_${topic(1)}"]).map(\.message) == [
                "'table' must be fixed text; it cannot use ${…}"
            ])
        #expect(
            harness.rejection(Persist.self, ["table": 3]).map(\.message) == [
                "'table' must be a string, found an integer"
            ])
        #expect(harness.rejection(Persist.self, ["retain": "soon"]).first?.code == "duration")
        #expect(
            harness.rejection(Persist.self, ["retain": "0s"]).map(\.message) == ["'retain' must be longer than zero"])
        #expect(
            harness.rejection(Persist.self, "readings").first?.message == "'with' must be a mapping, found a string")
    }

    @Test("'retain' is exposed as the table's retention")
    func retention() throws {
        let harness = HandlerHarness()
        let kept = try harness.build(Persist.self, ["table": "readings", "retain": "30d"]).handler
        #expect(kept.retention?.table == "readings")
        #expect(kept.retention?.keep == .seconds(30 * 86_400))
        #expect(try harness.build(Persist.self, ["table": "readings"]).handler.retention == nil)
    }

    @Test("retention trims a table by the longest keep of its writers, and not at all when one keeps forever")
    func retentionSchedule() async throws {
        let harness = HandlerHarness()
        let handlers: [any HandlerFunction] = try [
            harness.build(Persist.self, ["table": "readings", "retain": "1d"]).handler,
            harness.build(Persist.self, ["table": "readings", "retain": "7d"]).handler,
            harness.build(Persist.self, ["table": "alerts", "retain": "1d"]).handler,
            harness.build(Persist.self, ["table": "alerts"]).handler,
            harness.build(Log.self, nil).handler,
        ]
        let retention = RecordRetention(handlers)
        #expect(retention == RecordRetention(keep: ["readings": .seconds(7 * 86_400)]))

        let day: Int64 = 86_400_000
        let now = harness.clock.milliseconds
        let persist = try harness.build(Persist.self, ["table": "readings"])
        for (id, age) in [(1, 8 * day), (2, 6 * day), (3, 0)] as [(Int64, Int64)] {
            let message = HarnessMessage(output: ["n": .int(id)], id: id, receivedAt: now - age)
            #expect(await harness.invoke(persist, message).succeeded)
        }
        #expect(try await retention.apply(to: harness.records, now: now) == ["readings": 1])
        #expect(harness.records.rows(in: "readings").map(\.messageID) == [2, 3])
        #expect(RecordRetention.cutoff(now: 10_000, keep: .milliseconds(1500)) == 8_500)
        #expect(RecordRetention.cutoff(now: 0, keep: .seconds(Int64.max)) == Int64.min)
    }
}
