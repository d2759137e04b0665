/// A message accepted by ingest, as the journal stores it.
package struct JournalEntry: Sendable, Hashable {
    /// Unique and increasing in arrival order; assigned by the runtime before the entry is stored.
    package var id: Int64
    /// The topic.
    package var topic: String
    /// The payload bytes as received.
    package var payload: [UInt8]
    /// When it was received, in milliseconds since the Unix epoch.
    package var receivedAt: Int64
    /// The MQTT client id of the publisher, if any.
    package var clientID: String?
    /// The gateway whose token published it over HTTP, if any.
    package var gateway: String?
    /// How an MQTT broker delivered it, if it did with QoS 1. Stored with the entry; entries read
    /// back have none.
    package var receipt: BrokerReceipt?

    /// Bundles an entry.
    package init(
        id: Int64, topic: String, payload: [UInt8], receivedAt: Int64, clientID: String? = nil,
        gateway: String? = nil, receipt: BrokerReceipt? = nil
    ) {
        self.id = id
        self.topic = topic
        self.payload = payload
        self.receivedAt = receivedAt
        self.clientID = clientID
        self.gateway = gateway
        self.receipt = receipt
    }
}

/// The durable ingest journal: a message is acknowledged to its sender only once it is here.
///
/// The runtime assigns ids (increasing) and appends; it checkpoints the id below which every message
/// has been handled, and the journal may drop those. After a crash, the entries above the checkpoint
/// are handled again.
package protocol MessageJournal: Sendable {
    /// Stores `entries` durably (one transaction, shared with concurrent appends); returns after commit.
    func append(_ entries: [JournalEntry]) async throws

    /// The stored checkpoint (every message with an id ≤ it is done; 0 when none) and the highest
    /// id ever stored (at least the checkpoint).
    func state() async throws -> (checkpoint: Int64, lastID: Int64)

    /// Stored entries with `id > after`, in id order, at most `limit`.
    func entries(after: Int64, limit: Int) async throws -> [JournalEntry]

    /// Records that every message with an id ≤ `id` is done; their entries may be dropped.
    func checkpoint(_ id: Int64) async throws

    /// The broker receipts of `session` stored with the `limit` most recent entries that had one
    /// (kept when the entries are trimmed), as packet identifier → digest. A later receipt for the same
    /// identifier replaces the earlier.
    func brokerReceipts(session: String, limit: Int) async throws -> [UInt16: UInt64]
}
