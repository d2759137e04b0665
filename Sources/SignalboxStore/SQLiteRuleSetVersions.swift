import GRDB
import SignalboxCore

/// A ``RuleSetVersionStore`` in the data directory's SQLite database (table `rule_set_versions`):
/// the rule-set version keeps increasing across restarts, and each version names the SHA-256 of the
/// file it was loaded from.
///
/// For example:
/// ```swift
/// let versions = SQLiteRuleSetVersions(database: try AppDatabase(directory: "./data"))
/// let next = (try await versions.latest()?.version ?? 0) + 1
/// try await versions.add(RuleSetVersion(version: next, digest: digest, path: "rules.yaml", loadedAt: now))
/// ```
package final class SQLiteRuleSetVersions: RuleSetVersionStore {
    private let pool: DatabasePool

    /// Creates the store over `database`.
    package init(database: AppDatabase) {
        self.pool = database.pool
    }

    package func latest() async throws -> RuleSetVersion? {
        try await recent(limit: 1).first
    }

    package func add(_ version: RuleSetVersion) async throws {
        try await pool.write { db in
            let highest = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM rule_set_versions") ?? 0
            guard version.version > highest else { throw RuleSetVersionConflict(version: version.version) }
            try db.execute(
                sql: "INSERT INTO rule_set_versions (version, digest, path, loaded_at) VALUES (?, ?, ?, ?)",
                arguments: [version.version, version.digest, version.path, version.loadedAt])
        }
    }

    package func recent(limit: Int) async throws -> [RuleSetVersion] {
        guard limit > 0 else { return [] }
        return try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT version, digest, path, loaded_at FROM rule_set_versions ORDER BY version DESC LIMIT ?",
                arguments: [limit]
            ).map { row in
                RuleSetVersion(
                    version: row["version"], digest: row["digest"], path: row["path"], loadedAt: row["loaded_at"])
            }
        }
    }
}
