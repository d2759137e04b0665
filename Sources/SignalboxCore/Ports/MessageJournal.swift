/// A message as the journal holds it: the ``IncomingMessage`` and the id the runtime gave it.
package struct JournalEntry: Sendable, Hashable {
    /// Unique and increasing in arrival order; assigned by the runtime before the entry is stored.
    package var id: Int64
    /// The message as received. Its receipt (how an MQTT broker delivered it, if it did with QoS 1)
    /// is stored with the entry; entries read back have none.
    package var message: IncomingMessage

    /// An entry for `message`.
    package init(id: Int64, message: IncomingMessage) {
        self.id = id
        self.message = message
    }

    /// An entry for a message with these parts (see ``IncomingMessage``).
    package init(
        id: Int64, topic: String, payload: [UInt8], receivedAt: Int64, clientID: String? = nil,
        gateway: String? = nil, receipt: BrokerReceipt? = nil
    ) {
        self.init(
            id: id,
            message: IncomingMessage(
                topic: topic, payload: payload, receivedAt: receivedAt, clientID: clientID, gateway: gateway,
                receipt: receipt))
    }

    /// The topic.
    @inlinable package var topic: String { message.topic }
    /// The payload bytes as received.
    @inlinable package var payload: [UInt8] { message.payload }
    /// When it was received, in milliseconds since the Unix epoch.
    @inlinable package var receivedAt: Int64 { message.receivedAt }
    /// The MQTT client id of the publisher, if any.
    @inlinable package var clientID: String? { message.clientID }
    /// The gateway whose token published it over HTTP, if any.
    @inlinable package var gateway: String? { message.gateway }
    /// How an MQTT broker delivered it; nil once read back from the journal.
    @inlinable package var receipt: BrokerReceipt? { message.receipt }
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
