import SignalboxCore
import SignalboxStore
import SignalboxTesting
import Testing

/// The behaviour of both ``RuleSetVersionStore`` implementations: SQLite on real files, and in memory.
struct RuleSetVersionStoreTests {
    typealias Kind = StorageKind

    /// Runs `body` with a fresh store of `kind`; an SQLite database is closed afterwards.
    private func withStore(_ kind: Kind, _ body: (any RuleSetVersionStore) async throws -> Void) async throws {
        try await kind.run(memory: InMemoryRuleSetVersions(), sqlite: SQLiteRuleSetVersions.init(database:), body)
    }

    static func version(_ n: Int) -> RuleSetVersion {
        RuleSetVersion(
            version: n, digest: String(repeating: "\(n % 10)", count: 64), path: "rules.yaml", loadedAt: 1000 * Int64(n)
        )
    }

    @Test(arguments: Kind.allCases)
    func recordsVersionsInOrderAndRefusesOldNumbers(kind: Kind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.latest() == nil)
            #expect(try await store.recent(limit: 5).isEmpty)
            for n in [1, 2, 5] { try await store.add(Self.version(n)) }
            #expect(try await store.latest() == Self.version(5))
            #expect(try await store.recent(limit: 2) == [Self.version(5), Self.version(2)])
            #expect(try await store.recent(limit: 0).isEmpty)
            await #expect(throws: RuleSetVersionConflict(version: 5)) { try await store.add(Self.version(5)) }
            await #expect(throws: RuleSetVersionConflict(version: 3)) { try await store.add(Self.version(3)) }
            #expect(try await store.recent(limit: 10).map(\.version) == [5, 2, 1])
        }
    }

    @Test func sqliteKeepsVersionsAcrossReopening() async throws {
        try await withTemporaryDirectory { directory in
            try await withDatabase(directory) { database in
                try await SQLiteRuleSetVersions(database: database).add(Self.version(7))
            }
            try await withDatabase(directory) { database in
                let latest = try await SQLiteRuleSetVersions(database: database).latest()
                #expect(latest == Self.version(7))
            }
        }
    }
}
