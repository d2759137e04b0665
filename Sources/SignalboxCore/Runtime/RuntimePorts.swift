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

/// An invocation that failed for good, its error action included.
package struct DeadLetter: Sendable, Hashable {
    /// Assigned by the storage; 0 before it is stored.
    package var id: Int64
    /// When it was stored (ms since the epoch).
    package var createdAt: Int64
    /// The rule, rule-set version, action and handler.
    package var source: ActionSource
    /// The invocation's idempotency key; storing the same key again replaces the letter.
    package var idempotencyKey: String
    /// The message, as journaled.
    package var message: JournalEntry
    /// The device key of the message.
    package var device: String
    /// The last error, without payload values.
    package var error: String
    /// Attempts made, retries from the dead-letter store included.
    package var attempts: Int

    /// Bundles a dead letter.
    package init(
        id: Int64 = 0, createdAt: Int64, source: ActionSource, idempotencyKey: String, message: JournalEntry,
        device: String, error: String, attempts: Int
    ) {
        self.id = id
        self.createdAt = createdAt
        self.source = source
        self.idempotencyKey = idempotencyKey
        self.message = message
        self.device = device
        self.error = error
        self.attempts = attempts
    }
}

/// Where dead letters are kept until they are retried or deleted.
package protocol DeadLetterStorage: Sendable {
    /// Stores `letter` (replacing one with the same idempotency key); returns its id.
    func add(_ letter: DeadLetter) async throws -> Int64

    /// Dead letters with `id > after`, oldest first, at most `limit`.
    func list(after: Int64, limit: Int) async throws -> [DeadLetter]

    /// The dead letter `id`.
    func get(_ id: Int64) async throws -> DeadLetter?

    /// Deletes dead letter `id`; returns whether it existed.
    func remove(_ id: Int64) async throws -> Bool

    /// How many dead letters there are.
    func count() async throws -> Int
}

/// One throttle window: the action `action` ran for `key` at `startedAt`; until `expiresAt`,
/// other invocations for the key are skipped.
package struct ThrottleEntry: Sendable, Hashable {
    /// `"{rule}/{action index}"`.
    package var action: String
    /// The rendered throttle key.
    package var key: String
    /// When the window started (ms since the epoch).
    package var startedAt: Int64
    /// When it ends (ms since the epoch).
    package var expiresAt: Int64
    /// The invocation that opened the window (a replay of it is not throttled).
    package var idempotencyKey: String

    /// Bundles an entry.
    package init(action: String, key: String, startedAt: Int64, expiresAt: Int64, idempotencyKey: String) {
        self.action = action
        self.key = key
        self.startedAt = startedAt
        self.expiresAt = expiresAt
        self.idempotencyKey = idempotencyKey
    }
}

/// Throttle windows kept across restarts.
package protocol ThrottleStorage: Sendable {
    /// The windows that have not expired at `now`.
    func windows(activeAt now: Int64) async throws -> [ThrottleEntry]

    /// Stores `entries`, replacing the window of the same action and key; drops windows expired at `now`.
    func save(_ entries: [ThrottleEntry], now: Int64) async throws

    /// Deletes the windows of the actions and keys of `entries` (their times are not compared).
    func remove(_ entries: [ThrottleEntry]) async throws
}

/// What the silence monitor keeps of a device across restarts.
package struct DeviceActivity: Sendable, Hashable {
    /// The device key.
    package var device: String
    /// The journal time (ms since the epoch) of the newest message seen from the device.
    package var lastSeen: Int64
    /// Whether its `silent` event has been journaled and it has not reported since.
    package var silent: Bool

    /// Bundles an activity.
    package init(device: String, lastSeen: Int64, silent: Bool) {
        self.device = device
        self.lastSeen = lastSeen
        self.silent = silent
    }
}

/// When each device was last seen and whether it was reported silent, kept across restarts so that
/// a device that stops reporting while Signalbox is down is still reported, and only once.
package protocol DeviceActivityStorage: Sendable {
    /// Every stored device, sorted by device key.
    func activities() async throws -> [DeviceActivity]

    /// Stores `activities`, replacing the stored state of the same devices.
    func save(_ activities: [DeviceActivity]) async throws
}

/// An HTTP request a handler sends.
package struct OutgoingHTTPRequest: Sendable, Hashable {
    /// `POST`, `GET`, …
    package var method: String
    /// An absolute `http` or `https` URL.
    package var url: String
    /// Header fields, in order.
    package var headers: [HeaderField]
    /// The body.
    package var body: [UInt8]

    /// One header field.
    package struct HeaderField: Sendable, Hashable {
        package var name: String
        package var value: String
        package init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A request.
    package init(method: String = "POST", url: String, headers: [HeaderField] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// The response to an ``OutgoingHTTPRequest``.
package struct HTTPResponseReceived: Sendable, Hashable {
    /// The status code.
    package var status: Int
    /// Header fields, in order.
    package var headers: [OutgoingHTTPRequest.HeaderField]
    /// The body (handlers read at most what they need).
    package var body: [UInt8]

    /// A response.
    package init(status: Int, headers: [OutgoingHTTPRequest.HeaderField] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Outgoing HTTP for handlers.
package protocol HTTPClient: Sendable {
    /// Sends `request`; throws when no response arrives before `deadline` or the connection fails.
    func send(_ request: OutgoingHTTPRequest, deadline: ContinuousClock.Instant) async throws -> HTTPResponseReceived
}
