import Foundation
import GRDB
import SignalboxCore
import SignalboxJSON
import SignalboxShadows
import SignalboxStore
import Synchronization
import Testing

/// A flag another thread can wait on.
private final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// The writer's record cache never outlives a rolled-back batch.
struct WriterCacheTests {
    private static func version(_ reply: Value) -> Int64? {
        if case .int(let version)? = reply["version"] { return version }
        return nil
    }

    @Test func aRolledBackBatchLeavesNoCachedRecordBehind() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                // A trigger makes any change of the thing 'poison' abort its whole transaction.
                try await database.pool.write { db in
                    try db.execute(
                        sql: """
                            CREATE TEMP TRIGGER poison BEFORE INSERT ON shadow_changes WHEN NEW.thing = 'poison'
                            BEGIN SELECT RAISE(ABORT, 'poisoned'); END
                            """)
                }
                let service = ShadowService(storage: SQLiteShadowStorage(database: database), clock: { 1_000 })
                let body = Array(#"{"state":{"reported":{"n":1}}}"#.utf8)
                let first = try await service.update(ShadowKey(thing: "a"), body: body)
                #expect(Self.version(first) == 1)

                // Hold the writer so the next two updates queue up and commit as one batch.
                let released = Flag()
                let holder = Task.detached {
                    try await database.pool.writeWithoutTransaction { _ in
                        while !released.isSet { usleep(1_000) }
                    }
                }
                try await Task.sleep(for: .milliseconds(100))
                async let updateA = try? await service.update(ShadowKey(thing: "a"), body: body)
                async let updatePoison = try? await service.update(ShadowKey(thing: "poison"), body: body)
                try await Task.sleep(for: .milliseconds(200))
                released.set()
                try await holder.value
                let (a, poison) = await (updateA, updatePoison)
                #expect(poison == nil, "the poisoned update must fail")
                #expect(a == nil, "its batch rolled back, so the other update failed too")

                // The next update sees the committed version 1, not the rolled-back 2.
                let next = try await service.update(ShadowKey(thing: "a"), body: body)
                #expect(Self.version(next) == 2)
                let stored = try await service.get(ShadowKey(thing: "a"))
                #expect(Self.version(stored) == 2)
            }
        }
    }
}
