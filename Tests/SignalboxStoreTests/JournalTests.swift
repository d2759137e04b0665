import SignalboxCore
import SignalboxStore
import SignalboxTesting
import Testing

/// The behaviour of both ``MessageJournal`` implementations: SQLite on real files, and in memory.
struct JournalTests {
    typealias Kind = StorageKind

    /// Runs `body` with a fresh journal of `kind`; an SQLite one is closed afterwards.
    private func withJournal(_ kind: Kind, _ body: (any MessageJournal) async throws -> Void) async throws {
        switch kind {
        case .memory:
            try await body(InMemoryJournal())
        case .sqlite:
            try await withTemporaryDirectory { directory in
                let journal = try SQLiteJournal(directory: directory)
                defer { try? journal.close() }
                try await body(journal)
            }
        }
    }

    /// Entries `ids`, with payloads and optional fields that vary with the id.
    private func entries(_ ids: some Sequence<Int64>) -> [JournalEntry] {
        ids.map { id in
            JournalEntry(
                id: id, topic: "sensors/\(id % 7)/telemetry", payload: Array(#"{"n":\#(id)}"#.utf8) + [0, 255],
                receivedAt: 1_732_200_000_000 + id, clientID: id % 2 == 0 ? "client-\(id)" : nil,
                gateway: id % 3 == 0 ? "site-\(id % 5)" : nil)
        }
    }

    private func ids(_ entries: [JournalEntry]) -> [Int64] { entries.map(\.id) }

    @Test(arguments: Kind.allCases)
    func appendedEntriesAreReadInIDOrder(_ kind: Kind) async throws {
        try await withJournal(kind) { journal in
            #expect(try await journal.state() == (0, 0))
            #expect(try await journal.entries(after: 0, limit: 10) == [])

            let stored = entries(1...5)
            try await journal.append(stored)
            try await journal.append([])
            #expect(try await journal.state() == (0, 5))
            #expect(try await journal.entries(after: 0, limit: 10) == stored)
            #expect(try await journal.entries(after: 2, limit: 2) == Array(stored[2..<4]))
            #expect(try await journal.entries(after: 5, limit: 10) == [])
            #expect(try await journal.entries(after: 0, limit: 0) == [])

            // Out-of-order appends (as concurrent callers commit) still read back in id order.
            try await journal.append(entries([9, 7]))
            try await journal.append(entries([8, 6]))
            #expect(ids(try await journal.entries(after: 4, limit: 10)) == [5, 6, 7, 8, 9])
            #expect(try await journal.state() == (0, 9))
        }
    }

    @Test(arguments: Kind.allCases)
    func fieldsRoundTripExactly(_ kind: Kind) async throws {
        try await withJournal(kind) { journal in
            let stored = [
                JournalEntry(id: 1, topic: "a", payload: [], receivedAt: 0),
                JournalEntry(
                    id: 2, topic: "b/ü/$x", payload: [0, 0xFF, 0xFE, 10], receivedAt: -5, clientID: "",
                    gateway: ""),
                JournalEntry(
                    id: 3, topic: "c", payload: Array(repeating: 0xAB, count: 70_000), receivedAt: .max,
                    clientID: "mqtt-client", gateway: nil),
            ]
            try await journal.append(stored)
            #expect(try await journal.entries(after: 0, limit: 10) == stored)
        }
    }

    @Test(arguments: Kind.allCases)
    func checkpointsTrimAndOnlyMoveForward(_ kind: Kind) async throws {
        try await withJournal(kind) { journal in
            try await journal.append(entries(1...10))
            try await journal.checkpoint(4)
            #expect(try await journal.state() == (4, 10))
            #expect(ids(try await journal.entries(after: 0, limit: 100)) == Array(5...10))

            try await journal.checkpoint(10)
            #expect(try await journal.state() == (10, 10))
            #expect(try await journal.entries(after: 0, limit: 100) == [])

            // A lower checkpoint changes nothing; the last id survives the trimming.
            try await journal.checkpoint(3)
            #expect(try await journal.state() == (10, 10))

            try await journal.append(entries(11...12))
            #expect(try await journal.state() == (10, 12))
            #expect(ids(try await journal.entries(after: 10, limit: 100)) == [11, 12])

            // A checkpoint above every id stored is the last id too.
            try await journal.checkpoint(20)
            #expect(try await journal.state() == (20, 20))
            #expect(try await journal.entries(after: 0, limit: 100) == [])
        }
    }

    @Test(arguments: Kind.allCases)
    func anAppendReusingAnIDStoresNothing(_ kind: Kind) async throws {
        try await withJournal(kind) { journal in
            try await journal.append(entries(1...3))
            await #expect(throws: (any Error).self) { try await journal.append(entries([4, 2])) }
            await #expect(throws: (any Error).self) { try await journal.append(entries([5, 5])) }
            #expect(ids(try await journal.entries(after: 0, limit: 10)) == [1, 2, 3])
            #expect(try await journal.state() == (0, 3))
            try await journal.append(entries([4, 5]))
            #expect(ids(try await journal.entries(after: 0, limit: 10)) == [1, 2, 3, 4, 5])
        }
    }

    @Test(arguments: Kind.allCases)
    func concurrentAppendsAreAllStoredOnceInIDOrder(_ kind: Kind) async throws {
        try await withJournal(kind) { journal in
            let tasks = 48
            let perTask: Int64 = 300
            let total = Int64(tasks) * perTask
            // Stored first, so the conflicting append below always conflicts.
            try await journal.append(entries([total + 1]))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<Int64(tasks) {
                    group.addTask {
                        // Several appends per task, so batches mix tasks.
                        for part in 0..<Int64(3) {
                            let first = task * perTask + part * 100 + 1
                            try await journal.append(entries(first...(first + 99)))
                        }
                    }
                }
                // One caller's conflicting append fails alone and stores nothing.
                group.addTask {
                    await #expect(throws: (any Error).self) {
                        try await journal.append(entries([total + 2, total + 1]))
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await journal.entries(after: 0, limit: Int(total) + 10) == entries(1...(total + 1)))
            #expect(try await journal.state() == (0, total + 1))
        }
    }

    @Test(arguments: Kind.allCases)
    func checkpointsInterleaveWithConcurrentAppends(_ kind: Kind) async throws {
        try await withJournal(kind) { journal in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<Int64(8) {
                    group.addTask {
                        for part in 0..<Int64(10) {
                            let first = (part * 8 + task) * 50 + 1
                            try await journal.append(entries(first...(first + 49)))
                        }
                    }
                }
                group.addTask {
                    for checkpoint in stride(from: Int64(0), through: 2_000, by: 100) {
                        try await journal.checkpoint(checkpoint)
                        await Task.yield()
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await journal.state() == (2_000, 4_000))
            #expect(ids(try await journal.entries(after: 0, limit: 10_000)) == Array(2_001...4_000))
        }
    }

    /// Entry `id`, delivered by a broker under `packetID` on `session`.
    private func delivered(_ id: Int64, packetID: UInt16, session: String = "signalbox") -> JournalEntry {
        var entry = entries([id])[0]
        entry.message.receipt = BrokerReceipt(
            session: session, packetID: packetID, digest: UInt64(id) &* 0x9E37_79B9_7F4A_7C15)
        return entry
    }

    @Test(arguments: Kind.allCases)
    func brokerReceiptsAreStoredWithTheirEntriesAndOutliveThem(_ kind: Kind) async throws {
        try await withJournal(kind) { journal in
            #expect(try await journal.brokerReceipts(session: "signalbox", limit: 10) == [:])
            try await journal.append([delivered(1, packetID: 10), entries([2])[0], delivered(3, packetID: 11)])
            try await journal.append([delivered(4, packetID: 1, session: "other")])
            let digest = { (id: Int64) in UInt64(id) &* 0x9E37_79B9_7F4A_7C15 }
            #expect(
                try await journal.brokerReceipts(session: "signalbox", limit: 10) == [10: digest(1), 11: digest(3)])
            #expect(try await journal.brokerReceipts(session: "other", limit: 10) == [1: digest(4)])
            // Read back, entries carry no receipt.
            #expect(try await journal.entries(after: 0, limit: 1).first?.receipt == nil)

            // A later message under the same identifier replaces the earlier; trimmed entries keep theirs.
            try await journal.append([delivered(5, packetID: 10)])
            try await journal.checkpoint(5)
            #expect(
                try await journal.brokerReceipts(session: "signalbox", limit: 10) == [10: digest(5), 11: digest(3)])
            // The limit keeps the most recent.
            #expect(try await journal.brokerReceipts(session: "signalbox", limit: 1) == [10: digest(5)])
            #expect(try await journal.brokerReceipts(session: "signalbox", limit: 0) == [:])

            // An append that fails stores none of its receipts.
            try await journal.append(entries([6]))
            await #expect(throws: (any Error).self) {
                try await journal.append([delivered(7, packetID: 12), delivered(6, packetID: 13)])
            }
            #expect(try await journal.brokerReceipts(session: "signalbox", limit: 10).keys.sorted() == [10, 11])
        }
    }

    @Test func theSQLiteJournalKeepsMQTTSessionState() async throws {
        try await withTemporaryDirectory { directory in
            let journal = try SQLiteJournal(directory: directory)
            defer { try? journal.close() }
            #expect(try await journal.brokerSubscriptions(session: "a") == [])
            try await journal.saveBrokerSubscriptions(["x/#", "$share/g/y/+"], session: "a")
            try await journal.saveBrokerSubscriptions(["z"], session: "b")
            #expect(try await journal.brokerSubscriptions(session: "a") == ["x/#", "$share/g/y/+"])
            try await journal.saveBrokerSubscriptions(["x/#"], session: "a")
            #expect(try await journal.brokerSubscriptions(session: "a") == ["x/#"])
            #expect(try await journal.brokerSubscriptions(session: "b") == ["z"])

            try await journal.append([delivered(1, packetID: 1, session: "a"), delivered(2, packetID: 1, session: "b")])
            try await journal.forgetBrokerReceipts(session: "a")
            #expect(try await journal.brokerReceipts(session: "a", limit: 10) == [:])
            #expect(try await journal.brokerReceipts(session: "b", limit: 10).count == 1)
        }
    }

    @Test(arguments: AppDatabase.Durability.allCases)
    func theSQLiteJournalSurvivesReopening(_ durability: AppDatabase.Durability) async throws {
        try await withTemporaryDirectory { directory in
            let first = try SQLiteJournal(directory: directory, durability: durability)
            try await first.append(entries(1...20))
            try await first.checkpoint(15)
            try first.close()

            let second = try SQLiteJournal(directory: directory, durability: durability)
            #expect(try await second.state() == (15, 20))
            #expect(try await second.entries(after: 0, limit: 100) == entries(16...20))
            try await second.checkpoint(20)
            // A checkpoint at or below the stored one is a no-op after reopening too.
            try await second.checkpoint(12)
            try second.close()

            let third = try SQLiteJournal(directory: directory, durability: durability)
            defer { try? third.close() }
            #expect(try await third.state() == (20, 20))
            #expect(try await third.entries(after: 0, limit: 100) == [])
            try await third.append(entries(21...21))
            #expect(try await third.state() == (20, 21))
        }
    }
}
