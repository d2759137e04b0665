import Foundation
import GRDB
import SignalboxCore
import SignalboxStore
import SignalboxTesting
import Testing

/// The behaviour of both ``RecordStorage`` implementations: SQLite on real files, and in memory.
struct RecordStorageTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case sqlite
        /// SQLite indexing rows by device every 4 rows, so queries read the index and the tail.
        case sqliteSmallIndexBatch
        case memory

        var testDescription: String { rawValue }
    }

    /// Runs `body` with a fresh storage of `kind`; an SQLite one is closed afterwards.
    private func withStorage(_ kind: Kind, _ body: (any RecordStorage) async throws -> Void) async throws {
        switch kind {
        case .memory:
            try await body(InMemoryRecordStorage())
        case .sqlite, .sqliteSmallIndexBatch:
            try await withTemporaryDirectory { directory in
                let storage = try SQLiteRecordStorage(
                    directory: directory, deviceIndexBatch: kind == .sqlite ? 65_536 : 4)
                defer { try? storage.close() }
                try await body(storage)
            }
        }
    }

    /// Row `n`: device `d{n % devices}`, received at `1000 + n`.
    private func row(_ n: Int, devices: Int = 3, key: String? = nil) -> RecordRow {
        RecordRow(
            idempotencyKey: key ?? "\(n)/rule/0", messageID: Int64(n), rule: "rule", topic: "sensors/\(n % devices)",
            device: "d\(n % devices)", receivedAt: 1_000 + Int64(n), data: Array(#"{"n":\#(n),"s":"ü"}"#.utf8))
    }

    private func rows(_ records: [StoredRecord]) -> [RecordRow] { records.map(\.row) }

    @Test(arguments: Kind.allCases)
    func insertedRowsAreReadOldestFirst(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            #expect(try await storage.tables() == [])
            #expect(try await storage.records(in: "readings", matching: RecordQuery()) == [])

            try await storage.insert((1...5).map { row($0) }, into: "readings")
            try await storage.insert([row(1)], into: "alarms")
            try await storage.insert([], into: "empty")
            #expect(try await storage.tables() == ["alarms", "empty", "readings"])
            #expect(try await storage.records(in: "empty", matching: RecordQuery()) == [])

            let stored = try await storage.records(in: "readings", matching: RecordQuery())
            #expect(rows(stored) == (1...5).map { row($0) })
            #expect(zip(stored, stored.dropFirst()).allSatisfy { $0.seq < $1.seq })
            #expect(rows(try await storage.records(in: "alarms", matching: RecordQuery())) == [row(1)])
            #expect(try await storage.records(in: "unknown", matching: RecordQuery()) == [])
        }
    }

    @Test(arguments: Kind.allCases)
    func aRepeatedIdempotencyKeyIsSkipped(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            try await storage.insert([row(1), row(2)], into: "readings")
            // A replay, and a batch repeating a key of its own: neither writes a second row.
            try await storage.insert([row(2), row(3), row(99, key: "3/rule/0")], into: "readings")
            #expect(
                rows(try await storage.records(in: "readings", matching: RecordQuery())) == [row(1), row(2), row(3)])
            // Keys are unique per table only.
            try await storage.insert([row(1)], into: "other")
            #expect(rows(try await storage.records(in: "other", matching: RecordQuery())) == [row(1)])
        }
    }

    @Test(arguments: Kind.allCases)
    func queriesFilterAndPage(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            // In inserts of 7: with the small index batch, rows 1-28 are indexed by device, 29-30 not.
            for chunk in stride(from: 1, through: 30, by: 7) {
                try await storage.insert((chunk...min(30, chunk + 6)).map { row($0) }, into: "readings")
                await (storage as? SQLiteRecordStorage)?.waitForIndexing()
            }
            func query(_ query: RecordQuery) async throws -> [Int64] {
                try await storage.records(in: "readings", matching: query).map(\.row.messageID)
            }
            #expect(try await query(RecordQuery(device: "d1")) == [1, 4, 7, 10, 13, 16, 19, 22, 25, 28])
            #expect(try await query(RecordQuery(device: "nobody")) == [])
            #expect(try await query(RecordQuery(since: 1_025)) == [25, 26, 27, 28, 29, 30])
            #expect(try await query(RecordQuery(until: 1_004)) == [1, 2, 3])
            #expect(try await query(RecordQuery(device: "d2", since: 1_005, until: 1_015)) == [5, 8, 11, 14])
            #expect(try await query(RecordQuery(limit: 4)) == [1, 2, 3, 4])
            #expect(try await query(RecordQuery(limit: 0)) == [])

            // Paging through one device with `after`, three at a time.
            var pages: [[Int64]] = []
            var after: Int64?
            while true {
                let page = try await storage.records(
                    in: "readings", matching: RecordQuery(device: "d0", after: after, limit: 3))
                guard let last = page.last else { break }
                pages.append(page.map(\.row.messageID))
                after = last.seq
            }
            #expect(pages == [[3, 6, 9], [12, 15, 18], [21, 24, 27], [30]])
            #expect(try await query(RecordQuery(device: "d2", since: 1_020)) == [20, 23, 26, 29])
            #expect(try await query(RecordQuery(device: "d2", after: 26, limit: 1)) == [29])
        }
    }

    @Test func retentionKeepsTheDeviceIndexInStep() async throws {
        try await withStorage(.sqliteSmallIndexBatch) { storage in
            try await storage.insert((1...12).map { row($0) }, into: "readings")
            await (storage as? SQLiteRecordStorage)?.waitForIndexing()
            #expect(try await storage.deleteRecords(in: "readings", receivedBefore: 1_007) == 6)
            try await storage.insert((13...14).map { row($0) }, into: "readings")
            let d1 = try await storage.records(in: "readings", matching: RecordQuery(device: "d1"))
            #expect(d1.map(\.row.messageID) == [7, 10, 13])
        }
    }

    @Test func queriesStayCompleteWhileTheIndexIsBuilt() async throws {
        try await withStorage(.sqliteSmallIndexBatch) { storage in
            // Inserts and device queries racing the background passes: every row is always found once.
            for n in stride(from: 1, through: 600, by: 5) {
                try await storage.insert((n..<(n + 5)).map { row($0, devices: 7) }, into: "readings")
                let d3 = try await storage.records(in: "readings", matching: RecordQuery(device: "d3", limit: 1_000))
                #expect(d3.map(\.row.messageID) == (1..<(n + 5)).filter { $0 % 7 == 3 }.map(Int64.init))
            }
            await (storage as? SQLiteRecordStorage)?.waitForIndexing()
            let all = try await storage.records(in: "readings", matching: RecordQuery(device: "d3", limit: 1_000))
            #expect(all.count == 86)
        }
    }

    @Test func aPassIndexesAtMostFourBatchesAndTheBacklogIsWorkedOff() async throws {
        try await withTemporaryDirectory { directory in
            let storage = try SQLiteRecordStorage(directory: directory, deviceIndexBatch: 4)
            defer { try? storage.close() }
            func indexedThrough() async throws -> Int64 {
                try await DatabaseQueue(path: storage.path).read { db in
                    try Int64.fetchOne(
                        db, sql: #"SELECT indexed_through FROM "signalbox:record_index" WHERE name = 'readings'"#) ?? 0
                }
            }
            // 100 rows at once: the pass covers 16 of them, and the rest stay in the tail.
            try await storage.insert((1...100).map { row($0) }, into: "readings")
            await storage.waitForIndexing()
            #expect(try await indexedThrough() == 16)
            #expect(
                try await storage.records(in: "readings", matching: RecordQuery(device: "d1", limit: 100)).count == 34)
            // Every later insert starts the next pass over the backlog, until it is gone.
            for n in 101...106 {
                try await storage.insert([row(n)], into: "readings")
                await storage.waitForIndexing()
            }
            #expect(try await indexedThrough() == 106)
            #expect(
                try await storage.records(in: "readings", matching: RecordQuery(device: "d1", limit: 100)).count == 36)
        }
    }

    @Test func aTableWithTheOldPerRowDeviceIndexMovesToTheBulkOne() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/" + SQLiteRecordStorage.fileName
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            do {
                let queue = try DatabaseQueue(path: path)
                try await queue.write { db in
                    try db.execute(
                        sql: """
                            CREATE TABLE readings (seq INTEGER PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE,
                                message_id INTEGER, rule TEXT, topic TEXT, device TEXT, received_at INTEGER, data TEXT);
                            CREATE INDEX "readings:device" ON readings (device, received_at);
                            CREATE INDEX "readings:received_at" ON readings (received_at);
                            INSERT INTO readings (idempotency_key, message_id, rule, topic, device, received_at, data)
                            VALUES ('1/rule/0', 1, 'rule', 'sensors/1', 'd1', 1001, '{}'),
                                   ('2/rule/0', 2, 'rule', 'sensors/2', 'd2', 1002, '{}');
                            """)
                }
                try queue.close()
            }
            let storage = try SQLiteRecordStorage(directory: directory, deviceIndexBatch: 4)
            defer { try? storage.close() }
            // Readable before any insert, through the old index.
            #expect(
                try await storage.records(in: "readings", matching: RecordQuery(device: "d1")).map(\.row.messageID)
                    == [1])
            try await storage.insert([row(4), row(7)], into: "readings")
            #expect(
                try await storage.records(in: "readings", matching: RecordQuery(device: "d1")).map(\.row.messageID)
                    == [1, 4, 7])
            #expect(try await storage.tables() == ["readings"])
            let indexes = try await DatabaseQueue(path: path).read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE tbl_name = 'readings' ORDER BY name")
            }
            #expect(!indexes.contains("readings:device"))
        }
    }

    @Test(arguments: Kind.allCases)
    func retentionDeletesOlderRecords(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            try await storage.insert((1...10).map { row($0) }, into: "readings")
            #expect(try await storage.deleteRecords(in: "readings", receivedBefore: 1_004) == 3)
            #expect(try await storage.deleteRecords(in: "readings", receivedBefore: 1_004) == 0)
            #expect(try await storage.deleteRecords(in: "unknown", receivedBefore: 1_004) == 0)
            #expect(
                try await storage.records(in: "readings", matching: RecordQuery()).map(\.row.messageID)
                    == Array(4...10))
            #expect(try await storage.tables() == ["readings"])
        }
    }

    @Test(arguments: Kind.allCases)
    func concurrentInsertsAreAllStoredOnce(_ kind: Kind) async throws {
        try await withStorage(kind) { storage in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<24 {
                    group.addTask {
                        let table = task % 2 == 0 ? "even" : "odd"
                        // Every batch twice: the second one writes nothing.
                        let batch = (0..<100).map { row(task * 100 + $0) }
                        try await storage.insert(batch, into: table)
                        try await storage.insert(batch, into: table)
                    }
                }
                try await group.waitForAll()
            }
            for (table, parity) in [("even", 0), ("odd", 1)] {
                let stored = try await storage.records(in: table, matching: RecordQuery(limit: 10_000))
                let expected = (0..<24).filter { $0 % 2 == parity }.flatMap { task in (0..<100).map { task * 100 + $0 }
                }
                #expect(stored.map(\.row.messageID).sorted() == expected.map(Int64.init))
                #expect(Set(stored.map(\.seq)).count == stored.count)
            }
        }
    }

    @Test func sqliteRefusesBadTableNames() async throws {
        try await withTemporaryDirectory { directory in
            let storage = try SQLiteRecordStorage(directory: directory)
            defer { try? storage.close() }
            let longest = "t" + String(repeating: "x", count: 62)
            let bad = [
                "", "Readings", "1st", "_private", "has space", "dash-name", "quote\"d", "semi;colon", "ümlaut",
                "sqlite_master", "sqlite_x", longest + "x",
            ]
            for name in bad {
                #expect(!RecordTableName.isValid(name))
                await #expect(throws: InvalidRecordTableName(name: name)) {
                    try await storage.insert([row(1)], into: name)
                }
                await #expect(throws: InvalidRecordTableName(name: name)) {
                    try await storage.records(in: name, matching: RecordQuery())
                }
                await #expect(throws: InvalidRecordTableName(name: name)) {
                    try await storage.deleteRecords(in: name, receivedBefore: 0)
                }
            }
            #expect(try await storage.tables() == [])

            for name in ["a", "readings_2024", "sqlite", "sqlitex", longest] {
                #expect(RecordTableName.isValid(name))
                try await storage.insert([row(1)], into: name)
            }
            #expect(try await storage.tables() == ["a", longest, "readings_2024", "sqlite", "sqlitex"].sorted())
        }
    }

    @Test func sqliteRecordsSurviveReopening() async throws {
        try await withTemporaryDirectory { directory in
            let first = try SQLiteRecordStorage(directory: directory, durability: .full)
            try await first.insert((1...4).map { row($0) }, into: "readings")
            try first.close()

            let second = try SQLiteRecordStorage(directory: directory)
            defer { try? second.close() }
            #expect(try await second.tables() == ["readings"])
            let before = try await second.records(in: "readings", matching: RecordQuery())
            #expect(rows(before) == (1...4).map { row($0) })
            // The table is known again: keys still dedupe, and seq keeps increasing.
            try await second.insert([row(4), row(5)], into: "readings")
            let after = try await second.records(in: "readings", matching: RecordQuery(after: before.last?.seq))
            #expect(rows(after) == [row(5)])
        }
    }
}
