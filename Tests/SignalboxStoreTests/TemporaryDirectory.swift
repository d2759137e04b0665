import Foundation
import SignalboxStore

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
