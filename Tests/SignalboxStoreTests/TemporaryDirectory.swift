import Foundation
import SignalboxStore
import Testing

/// Runs `body` with a fresh directory under the system's temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("signalbox-store-tests-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

/// Opens the database in `directory`, runs `body` with it, and closes it.
func withDatabase<T>(
    _ directory: String, durability: AppDatabase.Durability = .normal, _ body: (AppDatabase) async throws -> T
) async throws -> T {
    let database = try AppDatabase(directory: directory, durability: durability)
    do {
        let result = try await body(database)
        try database.close()
        return result
    } catch {
        try? database.close()
        throw error
    }
}

/// Which implementation of a port a test runs against: SQLite on real files, or in memory.
enum StorageKind: String, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case memory

    var testDescription: String { rawValue }

    /// Runs `body` with `memory()`, or with `sqlite(database)` on a fresh database in a temporary
    /// directory, closed afterwards.
    func run<Port>(
        memory: @autoclosure () -> Port, sqlite: (AppDatabase) throws -> Port, _ body: (Port) async throws -> Void
    ) async throws {
        switch self {
        case .memory:
            try await body(memory())
        case .sqlite:
            try await withTemporaryDirectory { directory in
                try await withDatabase(directory) { database in try await body(try sqlite(database)) }
            }
        }
    }
}
