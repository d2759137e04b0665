import Foundation
import SignalboxCore
import SignalboxJSON
import SignalboxShadows
import SignalboxStore
import SignalboxTestSupport
import SignalboxTesting
import Testing

struct SQLiteShadowStorageTests {
    private static let clock: @Sendable () -> Int64 = { 1_732_200_000 }

    private func service(_ storage: some ShadowStorage) -> ShadowService {
        ShadowService(storage: storage, clock: Self.clock)
    }

    private func reported(_ n: Int) -> [UInt8] { Array(#"{"state":{"reported":{"n":\#(n)}}}"#.utf8) }
    private func desired(_ n: Int) -> [UInt8] { Array(#"{"state":{"desired":{"n":\#(n)}}}"#.utf8) }

    private func version(_ reply: Value) throws -> Int64 {
        guard case .int(let version)? = reply["version"] else { throw StoreTestFailure("no version in the reply") }
        return version
    }

    /// A modification that stores `version` with an empty state.
    private func modification(version: Int64, kind: ShadowChange.Kind = .updated, desired: Bool = false)
        -> ShadowModification<Int64>
    {
        ShadowModification(
            record: ShadowRecord(version: version, timestamp: 7, isDeleted: kind == .deleted), kind: kind,
            desiredChanged: desired, result: version)
    }

    @Test func shadowsPersistAcrossReopening() async throws {
        try await withTemporaryDirectory { directory in
            let key = ShadowKey(thing: "fridge-7")
            let named = ShadowKey(thing: "fridge-7", name: "config")
            try await withDatabase(directory) { database in
                let service = service(SQLiteShadowStorage(database: database))
                _ = try await service.update(key, body: reported(1))
                _ = try await service.update(key, body: desired(2))
                _ = try await service.update(named, body: desired(3))
            }
            try await withDatabase(directory) { database in
                let storage = SQLiteShadowStorage(database: database)
                let record = try #require(try await storage.record(for: key))
                #expect(record.version == 2)
                #expect(record.reported == ["n": 1])
                #expect(record.desired == ["n": 2])
                #expect(record.reportedMetadata == ["n": ["timestamp": 1_732_200_000]])
                #expect(record.timestamp == 1_732_200_000)
                #expect(try storage.recordNow(for: key) == record)
                #expect(try await storage.namedShadows(of: "fridge-7", after: nil, limit: 10) == ["config"])
                #expect(try await storage.latestSequence() == 3)

                let reply = try await service(storage).update(key, body: reported(4))
                #expect(try version(reply) == 3)
                #expect(try await storage.latestSequence() == 4)
                let document = try await service(storage).get(key)
                #expect(document["state"]?["reported"] == ["n": 4])
            }
        }
    }

    @Test func modifyStoresTheRecordAndLogsTheChange() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let storage = SQLiteShadowStorage(database: database)
                let key = ShadowKey(thing: "t", name: "n")
                #expect(try await storage.record(for: key) == nil)
                #expect(try await storage.latestSequence() == 0)

                let record = ShadowRecord(
                    desired: ["a": 1], reported: ["b": [1, 2.5, "x", true]], desiredMetadata: ["a": ["timestamp": 5]],
                    reportedMetadata: ["b": ["timestamp": 6]], version: 1, timestamp: 6)
                let (result, change) = try await storage.modify(key) { current in
                    #expect(current == nil)
                    return ShadowModification(record: record, kind: .updated, desiredChanged: true, result: "done")
                }
                #expect(result == "done")
                #expect(
                    change
                        == ShadowChange(
                            sequence: 1, key: key, kind: .updated, version: 1, desiredChanged: true, timestamp: 6))
                #expect(try await storage.record(for: key) == record)

                let (_, second) = try await storage.modify(key) { current in
                    #expect(current == record)
                    return modification(version: 2)
                }
                #expect(second.sequence == 2)
                #expect(try await storage.latestSequence() == 2)
            }
        }
    }

    @Test func aRejectedTransformWritesNothingAndConsumesNoSequence() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let storage = SQLiteShadowStorage(database: database)
                let key = ShadowKey(thing: "t")
                _ = try await storage.modify(key) { _ in modification(version: 1) }
                await #expect(throws: ShadowError(.conflict, "Version conflict")) {
                    _ = try await storage.modify(key) { _ throws(ShadowError) -> ShadowModification<Int64> in
                        throw ShadowError(.conflict, "Version conflict")
                    }
                }
                #expect(try await storage.record(for: key)?.version == 1)
                #expect(try await storage.latestSequence() == 1)
                let (_, change) = try await storage.modify(key) { _ in modification(version: 2) }
                #expect(change.sequence == 2)
            }
        }
    }

    @Test func tombstonesKeepTheirVersion() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let storage = SQLiteShadowStorage(database: database)
                let service = service(storage)
                let key = ShadowKey(thing: "lamp", name: "state")
                _ = try await service.update(key, body: desired(1))
                _ = try await service.update(key, body: desired(2))
                _ = try await service.delete(key)

                let tombstone = try #require(try await storage.record(for: key))
                #expect(tombstone.isDeleted)
                #expect(tombstone.version == 2)
                #expect(tombstone.live == nil)
                #expect(try await storage.namedShadows(of: "lamp", after: nil, limit: 10) == [])
                await #expect(throws: ShadowError.self) { _ = try await service.get(key) }

                let reply = try await service.update(key, body: desired(3))
                #expect(try version(reply) == 3)
                #expect(try await storage.record(for: key)?.isDeleted == false)
            }
        }
    }

    @Test func namedShadowsPageInOrderWithoutTombstonesOrTheClassicShadow() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let storage = SQLiteShadowStorage(database: database)
                let service = service(storage)
                _ = try await service.update(ShadowKey(thing: "t"), body: reported(0))
                for name in ["delta", "alpha", "charlie", "bravo", "echo"] {
                    _ = try await service.update(ShadowKey(thing: "t", name: name), body: reported(1))
                }
                _ = try await service.update(ShadowKey(thing: "other", name: "aaa"), body: reported(1))
                _ = try await service.delete(ShadowKey(thing: "t", name: "charlie"))

                #expect(try await storage.namedShadows(of: "t", after: nil, limit: 2) == ["alpha", "bravo"])
                #expect(try await storage.namedShadows(of: "t", after: "bravo", limit: 2) == ["delta", "echo"])
                #expect(try await storage.namedShadows(of: "t", after: "echo", limit: 2) == [])
                #expect(try await storage.namedShadows(of: "t", after: "b", limit: 10) == ["bravo", "delta", "echo"])
                #expect(try await storage.namedShadows(of: "t", after: nil, limit: 0) == [])
                #expect(try await storage.namedShadows(of: "nobody", after: nil, limit: 10) == [])

                let page = try await service.listNamedShadows(thing: "t", pageSize: 3, nextToken: nil)
                #expect(page["results"] == ["alpha", "bravo", "delta"])
                #expect(page["nextToken"] != nil)
            }
        }
    }

    @Test func desiredChangesReturnTheLatestChangePerShadow() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let storage = SQLiteShadowStorage(database: database)
                func change(_ thing: String, _ name: String?, _ kind: ShadowChange.Kind, desired: Bool) async throws
                    -> ShadowChange
                {
                    let key = ShadowKey(thing: thing, name: name)
                    let version = (try await storage.record(for: key)?.version ?? 0) + 1
                    return try await storage.modify(key) { _ in
                        modification(version: version, kind: kind, desired: desired)
                    }.1
                }
                let a1 = try await change("a", nil, .updated, desired: true)  // 1: superseded by 4
                _ = try await change("a", nil, .updated, desired: false)  // 2: reported only
                let b1 = try await change("b", "x", .updated, desired: true)  // 3
                let a2 = try await change("a", nil, .updated, desired: true)  // 4
                let c1 = try await change("c", nil, .updated, desired: true)  // 5: not in the set
                let b2 = try await change("b", "y", .deleted, desired: false)  // 6: a deletion always counts
                _ = try await change("a", nil, .updated, desired: false)  // 7: reported only, a2 stays latest

                #expect(a1.sequence == 1 && a2.sequence == 4)
                let all = try await storage.desiredChanges(after: 0, things: ["a", "b"], limit: 10)
                #expect(all == [b1, a2, b2])
                #expect(try await storage.desiredChanges(after: 3, things: ["a", "b"], limit: 10) == [a2, b2])
                #expect(try await storage.desiredChanges(after: 0, things: ["a", "b"], limit: 2) == [b1, a2])
                #expect(try await storage.desiredChanges(after: 6, things: ["a", "b"], limit: 10) == [])
                #expect(try await storage.desiredChanges(after: 0, things: [], limit: 10) == [])
                #expect(try await storage.desiredChanges(after: 0, things: ["b"], limit: 10) == [b1, b2])
                // Without a set: every shadow.
                #expect(try await storage.desiredChanges(after: 0, things: nil, limit: 10) == [b1, a2, c1, b2])
                #expect(try await storage.desiredChanges(after: 4, things: nil, limit: 1) == [c1])
            }
        }
    }

    /// The same random operations against the in-memory reference and SQLite give the same answers.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func matchesTheInMemoryReference(seed: UInt64) async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                var random = SeededRandom(seed: seed)
                let reference = service(InMemoryShadowStorage())
                let sqlite = service(SQLiteShadowStorage(database: database))
                let things = ["t1", "t2", "t3", "t4"]
                let names: [String?] = [nil, "a", "b", "c"]
                for step in 0..<400 {
                    let key = ShadowKey(thing: random.pick(things), name: random.pick(names))
                    let body = random.chance(0.5) ? desired(step) : reported(step)
                    let deleting = random.chance(0.15)
                    let expected = await Result(awaiting: { () async throws(ShadowError) -> Value in
                        deleting ? try await reference.delete(key) : try await reference.update(key, body: body)
                    })
                    let actual = await Result(awaiting: { () async throws(ShadowError) -> Value in
                        deleting ? try await sqlite.delete(key) : try await sqlite.update(key, body: body)
                    })
                    #expect(actual == expected, "step \(step), seed \(seed)")
                }
                #expect(try await sqlite.storage.latestSequence() == reference.storage.latestSequence())
                for thing in things {
                    for name in names {
                        let key = ShadowKey(thing: thing, name: name)
                        #expect(try await sqlite.storage.record(for: key) == reference.storage.record(for: key))
                    }
                    #expect(
                        try await sqlite.storage.namedShadows(of: thing, after: nil, limit: 10)
                            == reference.storage.namedShadows(of: thing, after: nil, limit: 10))
                }
                let latest = try await reference.storage.latestSequence()
                for after in stride(from: 0, through: latest, by: 37) {
                    for set in [["t1"], ["t1", "t3"], Set(things), nil] as [Set<String>?] {
                        #expect(
                            try await sqlite.storage.desiredChanges(after: after, things: set, limit: 7)
                                == reference.storage.desiredChanges(after: after, things: set, limit: 7))
                    }
                }
            }
        }
    }

    @Test(arguments: [256, 3])
    func concurrentUpdatesOfOneShadowGetConsecutiveVersions(maxBatchSize: Int) async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let storage = SQLiteShadowStorage(database: database, maxBatchSize: maxBatchSize)
                let service = service(storage)
                let key = ShadowKey(thing: "hot")
                let count = 300
                let versions = try await withThrowingTaskGroup(of: Int64.self) { group in
                    for n in 0..<count {
                        group.addTask { try version(try await service.update(key, body: reported(n))) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(versions.sorted() == Array(1...Int64(count)))
                #expect(try await storage.record(for: key)?.version == Int64(count))
                #expect(try await storage.latestSequence() == Int64(count))
            }
        }
    }

    @Test func concurrentUpdatesOfManyShadows() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let storage = SQLiteShadowStorage(database: database, maxBatchSize: 16)
                let service = service(storage)
                let things = 50
                let updates = 20
                let sequences = try await withThrowingTaskGroup(of: Int64.self) { group in
                    for thing in 0..<things {
                        group.addTask {
                            var last: Int64 = 0
                            for n in 0..<updates {
                                let (_, change) = try await storage.modify(ShadowKey(thing: "thing-\(thing)")) {
                                    current in
                                    modification(version: (current?.version ?? 0) + 1)
                                }
                                #expect(change.version == Int64(n + 1))
                                #expect(change.sequence > last)
                                last = change.sequence
                            }
                            return last
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(sequences.max() == Int64(things * updates))
                #expect(try await storage.latestSequence() == Int64(things * updates))
                for thing in 0..<things {
                    #expect(
                        try await storage.record(for: ShadowKey(thing: "thing-\(thing)"))?.version == Int64(updates))
                }
                _ = service
            }
        }
    }

    @Test func rejectedModificationsInABatchLeaveTheOthersCommitted() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database throws in
                let storage = SQLiteShadowStorage(database: database)
                let key = ShadowKey(thing: "mixed")
                let results = await withTaskGroup(of: Bool.self) { group in
                    for n in 0..<200 {
                        group.addTask {
                            do {
                                _ = try await storage.modify(key) { current throws(ShadowError) in
                                    if n.isMultiple(of: 3) { throw ShadowError(.badRequest, "rejected") }
                                    return modification(version: (current?.version ?? 0) + 1)
                                }
                                return true
                            } catch {
                                return false
                            }
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                let committed = results.filter { $0 }.count
                #expect(committed == 133)
                #expect(try await storage.record(for: key)?.version == Int64(committed))
                #expect(try await storage.latestSequence() == Int64(committed))
            }
        }
    }

    @Test func modifyAfterCloseFailsInsteadOfHanging() async throws {
        try await withTemporaryDirectory { directory in
            let database = try AppDatabase(directory: directory)
            let storage = SQLiteShadowStorage(database: database)
            try database.close()
            await #expect(throws: (any Error).self) {
                _ = try await storage.modify(ShadowKey(thing: "t")) { _ in modification(version: 1) }
            }
        }
    }

    @Test(arguments: AppDatabase.Durability.allCases)
    func dataReadsBackAfterReopening(durability: AppDatabase.Durability) async throws {
        try await withTemporaryDirectory { directory in
            let key = ShadowKey(thing: "durable")
            try await withDatabase(directory, durability: durability) { database in
                #expect(database.durability == durability)
                _ = try await service(SQLiteShadowStorage(database: database)).update(key, body: desired(42))
            }
            #expect(FileManager.default.fileExists(atPath: directory + "/signalbox.sqlite"))
            for reopened in AppDatabase.Durability.allCases {
                try await withDatabase(directory, durability: reopened) { database in
                    let record = try await SQLiteShadowStorage(database: database).record(for: key)
                    #expect(record?.desired == ["n": 42])
                    #expect(record?.version == 1)
                }
            }
        }
    }
}

/// A test precondition that didn't hold.
struct StoreTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Result where Failure == ShadowError {
    /// The outcome of `body`.
    init(awaiting body: () async throws(ShadowError) -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
