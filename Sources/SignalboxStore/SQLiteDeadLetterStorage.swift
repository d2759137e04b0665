import Foundation
import GRDB
import SignalboxCore

/// A ``DeadLetterStorage`` in the data directory's SQLite database (table `dead_letters`).
///
/// Ids increase and are never reused. Storing a letter under an idempotency key already stored
/// replaces that letter and keeps its id, so a dead letter retried and failing again stays in place.
///
/// For example:
/// ```swift
/// let deadLetters = SQLiteDeadLetterStorage(database: try AppDatabase(directory: "./data"))
/// let id = try await deadLetters.add(letter)
/// let page = try await deadLetters.list(after: 0, limit: 50)
/// ```
package final class SQLiteDeadLetterStorage: DeadLetterStorage {
    private let pool: DatabasePool

    /// Creates the storage over `database`.
    package init(database: AppDatabase) {
        self.pool = database.pool
    }

    package func add(_ letter: DeadLetter) async throws -> Int64 {
        try await pool.write { db in
            let message = letter.message
            let source = letter.source
            try db.execute(
                sql: """
                    INSERT INTO dead_letters (
                        created_at, rule, rule_set_version, action_index, function, idempotency_key, message_id,
                        topic, payload, received_at, client_id, gateway, device, error, attempts
                    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (idempotency_key) DO UPDATE SET
                        created_at = excluded.created_at, rule = excluded.rule,
                        rule_set_version = excluded.rule_set_version, action_index = excluded.action_index,
                        function = excluded.function, message_id = excluded.message_id, topic = excluded.topic,
                        payload = excluded.payload, received_at = excluded.received_at,
                        client_id = excluded.client_id, gateway = excluded.gateway, device = excluded.device,
                        error = excluded.error, attempts = excluded.attempts
                    """,
                arguments: [
                    letter.createdAt, source.rule, source.ruleSetVersion, source.actionIndex, source.function,
                    letter.idempotencyKey, message.id, message.topic, Data(message.payload), message.receivedAt,
                    message.clientID, message.gateway, letter.device, letter.error, letter.attempts,
                ])
            // The last insert row id is not set by the update branch: look the id up.
            guard
                let id = try Int64.fetchOne(
                    db, sql: "SELECT id FROM dead_letters WHERE idempotency_key = ?", arguments: [letter.idempotencyKey]
                )
            else {
                throw StoreError(.corruptRecord, "a dead letter just stored can't be found: check the database file")
            }
            return id
        }
    }

    package func list(after: Int64, limit: Int) async throws -> [DeadLetter] {
        guard limit > 0 else { return [] }
        return try await pool.read { db in
            try Row.fetchAll(db, sql: "\(Self.columns) WHERE id > ? ORDER BY id LIMIT ?", arguments: [after, limit])
                .map(Self.decode)
        }
    }

    package func get(_ id: Int64) async throws -> DeadLetter? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "\(Self.columns) WHERE id = ?", arguments: [id]).map(Self.decode)
        }
    }

    package func remove(_ id: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM dead_letters WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    package func count() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dead_letters") ?? 0
        }
    }
}

extension SQLiteDeadLetterStorage {
    private static let columns = """
        SELECT id, created_at, rule, rule_set_version, action_index, function, idempotency_key, message_id, topic,
            payload, received_at, client_id, gateway, device, error, attempts
        FROM dead_letters
        """

    private static func decode(_ row: Row) throws -> DeadLetter {
        let payload = try row.withUnsafeData(atIndex: 9) { data in data.map { [UInt8]($0) } ?? [] }
        return DeadLetter(
            id: row[0], createdAt: row[1],
            source: ActionSource(rule: row[2], ruleSetVersion: row[3], actionIndex: row[4], function: row[5]),
            idempotencyKey: row[6],
            message: JournalEntry(
                id: row[7], topic: row[8], payload: payload, receivedAt: row[10], clientID: row[11], gateway: row[12]),
            device: row[13], error: row[14], attempts: row[15])
    }
}
