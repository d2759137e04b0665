import GRDB
import SignalboxCore
import SignalboxJSON
import SignalboxShadows
import SignalboxStore
import SignalboxTestSupport
import Testing

/// Compacting the change log never changes a gateway sync answer.
struct ChangeLogCompactionTests {
    private static func body(_ desired: Bool, _ n: Int) -> [UInt8] {
        Array((desired ? #"{"state":{"desired":{"n":\#(n)}}}"# : #"{"state":{"reported":{"n":\#(n)}}}"#).utf8)
    }

    @Test(arguments: [(1, 1), (2, 10), (3, 100)] as [(UInt64, Int64)])
    func syncAnswersAreTheSameBeforeAndAfter(seed: UInt64, keepRecent: Int64) async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                var random = SeededRandom(seed: seed)
                let storage = SQLiteShadowStorage(database: database)
                let service = ShadowService(storage: storage, clock: { 1_000 })
                let things = ["t1", "t2", "t3", "t4", "t5"]
                let names: [String?] = [nil, "a", "b"]
                for step in 0..<600 {
                    let key = ShadowKey(thing: random.pick(things), name: random.pick(names))
                    if random.chance(0.1) {
                        _ = try? await service.delete(key)
                    } else {
                        _ = try await service.update(key, body: Self.body(random.chance(0.3), step))
                    }
                }
                let latest = try await storage.latestSequence()
                let sets: [Set<String>] = [["t1"], ["t2", "t4"], Set(things)]
                var before: [[ShadowChange]] = []
                for after in 0...latest {
                    for set in sets {
                        before.append(try await storage.desiredChanges(after: after, things: set, limit: 1000))
                    }
                }
                let rowsBefore = try await database.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shadow_changes") ?? 0
                }

                let removed = try await storage.compactChangeLog(keepRecent: keepRecent, batchSize: 50)

                let rowsAfter = try await database.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shadow_changes") ?? 0
                }
                #expect(removed > 0)
                #expect(rowsAfter == rowsBefore - removed)
                // At most one entry per shadow beyond the recent ones.
                #expect(rowsAfter <= things.count * names.count + Int(keepRecent))
                #expect(try await storage.latestSequence() == latest)
                var after: [[ShadowChange]] = []
                for cursor in 0...latest {
                    for set in sets {
                        after.append(try await storage.desiredChanges(after: cursor, things: set, limit: 1000))
                    }
                }
                #expect(after == before)
            }
        }
    }

    @Test func nothingToCompactInASmallLog() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                let storage = SQLiteShadowStorage(database: database)
                let service = ShadowService(storage: storage, clock: { 1_000 })
                for n in 0..<5 { _ = try await service.update(ShadowKey(thing: "t"), body: Self.body(false, n)) }
                #expect(try await storage.compactChangeLog(keepRecent: 100) == 0)
            }
        }
    }
}
