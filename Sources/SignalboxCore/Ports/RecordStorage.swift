/// One row a `persist` action writes.
package struct RecordRow: Sendable, Hashable {
    /// Unique per table: a replayed invocation writes no second row.
    package var idempotencyKey: String
    /// The journal id of the message.
    package var messageID: Int64
    /// The rule that matched.
    package var rule: String
    /// The message's topic.
    package var topic: String
    /// The message's device key.
    package var device: String
    /// When the message was received, in milliseconds since the Unix epoch.
    package var receivedAt: Int64
    /// The stored document (the SELECT output as JSON text).
    package var data: [UInt8]

    /// Bundles a row.
    package init(
        idempotencyKey: String, messageID: Int64, rule: String, topic: String, device: String, receivedAt: Int64,
        data: [UInt8]
    ) {
        self.idempotencyKey = idempotencyKey
        self.messageID = messageID
        self.rule = rule
        self.topic = topic
        self.device = device
        self.receivedAt = receivedAt
        self.data = data
    }
}

/// A stored record, as queried.
package struct StoredRecord: Sendable, Hashable {
    /// Increasing in insertion order within the table.
    package var seq: Int64
    /// The row.
    package var row: RecordRow

    /// Bundles a stored record.
    package init(seq: Int64, row: RecordRow) {
        self.seq = seq
        self.row = row
    }
}

/// Which records to read.
package struct RecordQuery: Sendable, Hashable {
    /// Only this device's.
    package var device: String?
    /// Only those received at or after this time (ms since the epoch).
    package var since: Int64?
    /// Only those received before this time (ms since the epoch).
    package var until: Int64?
    /// Only those with `seq` greater than this (paging).
    package var after: Int64?
    /// At most this many, oldest first.
    package var limit: Int

    /// A query; 100 records by default.
    package init(device: String? = nil, since: Int64? = nil, until: Int64? = nil, after: Int64? = nil, limit: Int = 100)
    {
        self.device = device
        self.since = since
        self.until = until
        self.after = after
        self.limit = limit
    }
}

/// Tables of records written by `persist`.
///
/// Table names are `[a-z][a-z0-9_]{0,62}`; `persist` checks them when the rules file loads.
package protocol RecordStorage: Sendable {
    /// Inserts `rows` into `table` (created on first use), in one transaction; a row whose
    /// idempotency key is already in the table is skipped.
    func insert(_ rows: [RecordRow], into table: String) async throws

    /// Records of `table` matching `query`, oldest first; an unknown table has none.
    func records(in table: String, matching query: RecordQuery) async throws -> [StoredRecord]

    /// The tables that exist, sorted.
    func tables() async throws -> [String]

    /// Deletes the records of `table` received before `cutoff` (ms since the epoch); returns how many.
    func deleteRecords(in table: String, receivedBefore cutoff: Int64) async throws -> Int
}

/// The names of record tables.
package enum RecordTableName {
    /// Whether `name` can name a record table: `[a-z][a-z0-9_]{0,62}`, not starting with `sqlite_`
    /// (SQLite keeps those names for itself).
    package static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), bytes.count <= 63
        else { return false }
        let valid = bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
        return valid && !name.hasPrefix("sqlite_")
    }
}
